"""The paper's GPU path, run on the CPU: paper-size networks (full widths, 96 x 96 faces) trained
end to end through `fit` under bf16 autocast with channels_last weights, and resumed."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import Subset

from omglib.config import ModelConfig, get_profile
from omglib.data.sequences import SequenceDataset, cut
from omglib.data.store import FrameStore
from omglib.models import build
from omglib.train import FitSettings, fit

PAPER = get_profile("paper", ["train.precision=bf16"])  # what "auto" means on a GPU


@pytest.mark.parametrize("name", ["CNN-3RNN-2nd-pool_last-pool_fc", "AffWildNet"])
def test_a_paper_size_network_trains_end_to_end_under_bf16_and_resumes(name, smoke_frames, tmp_path):
    t = PAPER.train
    assert PAPER.model == ModelConfig() and t.strategy == "end-to-end" and PAPER.model.input_size == 96
    windows = SequenceDataset(cut(FrameStore.open(smoke_frames / "omg" / "train"), 4))  # 64-px crops, resized to 96
    train = Subset(windows, [0, len(windows) // 2])  # 2 windows of different utterances: one step of 2 per epoch
    settings = FitSettings(t.lr_end_to_end, 1, t.patience, 2, t.loss_weights, t.precision)

    def run(epochs: int):
        torch.manual_seed(0)
        model = build(name, PAPER)
        conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        seen = []
        conv.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
        result = fit(model, train, lambda m: (0.0, 0.0), replace(settings, epochs=epochs),
                     checkpoint=tmp_path / "checkpoint.pt", seed=0, device=torch.device("cpu"), progress=False)
        return model, conv, seen, result

    torch.manual_seed(0)
    initial = build(name, PAPER).state_dict()
    model, conv, seen, first = run(1)
    assert set(seen) == {torch.bfloat16}  # the convolutions ran under autocast
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert np.isfinite(first.history["loss"]).all()
    changed = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, initial[k])]
    assert any(k.startswith("trunk.") for k in changed) and len(changed) > len(initial) // 2  # end to end: the CNN too
    # a second run with more epochs resumes from the checkpoint: epoch 1 is not trained again
    _, _, _, resumed = run(2)
    assert resumed.history["epoch"].tolist() == [1, 2]
    assert resumed.history["loss"].iloc[0] == first.history["loss"].iloc[0]
    assert np.isfinite(resumed.history["loss"]).all()
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=False)["epoch"] == 1
