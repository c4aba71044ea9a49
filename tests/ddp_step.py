"""One training step of a smoke CNN-3RNN, end to end, for tests/test_distributed.py.

    python tests/ddp_step.py FRAMES OUT BATCH                         one process, batch 2 x BATCH
    torchrun --nproc_per_node 2 tests/ddp_step.py FRAMES OUT BATCH    two processes, BATCH each

Both take the same 2 x BATCH windows of the smoke OMG train store, spread over its utterances
(OMG labels are per utterance: windows of one utterance alone have no variance for the CCC to
fit), so the effective batch is the same; dropout is off so that the step is deterministic.
Rank 0 (or the single process) saves the weights after the step to OUT.
"""

import sys
from pathlib import Path

import torch
from torch.utils.data import Subset

from omglib import distributed
from omglib.config import get_profile
from omglib.data.sequences import SequenceDataset, cut
from omglib.data.store import FrameStore
from omglib.models import build
from omglib.train import FitSettings, fit

frames, out, batch = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(1)
device = distributed.start("cpu") if distributed.launched() else torch.device("cpu")
profile = get_profile("smoke", ["model.fc_dropout=0", "model.gru_dropout=0"])
torch.manual_seed(0)
model = build("CNN-3RNN-2nd-pool_last-pool_fc", profile)
windows = SequenceDataset(cut(FrameStore.open(frames / "omg" / "train"), 8))
step = len(windows) // (2 * batch)
train = Subset(windows, range(0, 2 * batch * step, step))
per_process = batch if distributed.launched() else 2 * batch
fit(model, train, lambda m: (0.0, 0.0), FitSettings(lr=1e-3, epochs=1, patience=1, batch_size=per_process),
    checkpoint=out.with_suffix(".checkpoint.pt"), seed=0, device=device, resume=False, progress=False)
if distributed.is_main():
    torch.save(model.state_dict(), out)
distributed.stop()
