"""The starting-weight converters: keys land where they should and the converted networks,
fed omglib's [-1, 1] faces, compute what the published networks compute on their own input.

The published files are not here: state dicts with their key layout and shapes and random
values stand in. The first convolution's zero padding is the one documented difference
(mean colour there, mid-grey here), so the whole-network references pad the face with
mid-grey themselves and run their first convolution unpadded; the first convolution alone is
also checked against the unchanged original on the interior.
"""

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torchvision.models import densenet, resnet

from omglib import models
from omglib.errors import OmgError
from omglib.models.backbones import _VGG_CONV_INDEX
from omglib.models.weights import (IMAGENET_MEAN, IMAGENET_STD, VGG_FACE_CONVS, VGG_FACE_MEAN, convert_vgg_face,
                                   StartingWeights, import_weights, starting_weights)

VGG_FACE_SHAPES = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128), (256, 256), (256, 256),
                   (512, 256), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
POOL_AFTER = {"conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"}


def vgg_face_dag(fc: bool) -> dict:
    """A state dict in vgg_face_dag.pth's layout (He-initialised convolutions, random biases)."""
    g = torch.Generator().manual_seed(0)
    state = {}
    for name, (out, inp) in zip(VGG_FACE_CONVS, VGG_FACE_SHAPES):
        state[f"{name}.weight"] = torch.randn(out, inp, 3, 3, generator=g) * (2 / (9 * inp)) ** 0.5
        state[f"{name}.bias"] = torch.randn(out, generator=g) * 0.1
    if fc:  # shapes of the 224 x 224 original; values never read
        for name, shape in (("fc6", (4096, 25088)), ("fc7", (4096, 4096)), ("fc8", (2622, 4096))):
            state[f"{name}.weight"], state[f"{name}.bias"] = torch.empty(shape), torch.empty(shape[0])
    return state


def vgg_face_reference(state: dict, x: torch.Tensor, grey_border: bool) -> torch.Tensor:
    """vgg_face_dag's convolutions by hand on its own input (RGB 0-255 minus the mean), up to pool5;
    ``grey_border``: the face padded with mid-grey first and conv1_1 unpadded."""
    pad = 1
    if grey_border:
        x, pad = F.pad(x, (1, 1, 1, 1)), 0
    x = (x + 1) * 127.5 - torch.tensor(VGG_FACE_MEAN)[:, None, None]
    for name in VGG_FACE_CONVS:
        x = F.relu(F.conv2d(x, state[f"{name}.weight"], state[f"{name}.bias"], padding=pad))
        pad = 1
        if name in POOL_AFTER:
            x = F.max_pool2d(x, 2, 2)
    return x


def close(actual, expected):
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


def faces(n=2, size=96):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1


def test_vgg_face_keys_land_on_torchvision_vgg16_with_the_input_folded_in():
    state = vgg_face_dag(fc=True)
    converted = convert_vgg_face(state)
    assert set(converted) == {f"features.{i}.{p}" for i in _VGG_CONV_INDEX for p in ("weight", "bias")}
    for name, index in list(zip(VGG_FACE_CONVS, _VGG_CONV_INDEX))[1:]:
        assert torch.equal(converted[f"features.{index}.weight"], state[f"{name}.weight"])
        assert torch.equal(converted[f"features.{index}.bias"], state[f"{name}.bias"])
    close(converted["features.0.weight"], state["conv1_1.weight"] * 127.5)
    x = faces()
    ours = F.conv2d(x, converted["features.0.weight"], converted["features.0.bias"], padding=1)
    theirs = F.conv2d((x + 1) * 127.5 - torch.tensor(VGG_FACE_MEAN)[:, None, None], state["conv1_1.weight"],
                      state["conv1_1.bias"], padding=1)
    close(ours[..., 1:-1, 1:-1], theirs[..., 1:-1, 1:-1])  # exact inside; the border is the padding colour
    assert not torch.allclose(ours, theirs, rtol=1e-4, atol=1e-4 * theirs.abs().max().item())


def test_imported_vgg_face_trunk_equals_the_hand_wired_original(tmp_path):
    state = vgg_face_dag(fc=False)
    torch.save(state, tmp_path / "vgg_face_dag.pth")
    meta = import_weights("vgg-face", tmp_path / "vgg_face_dag.pth", tmp_path / "vgg-face.pt")
    assert meta["start"] == "vgg-face" and meta["dropped"] == [f"fc{k}.{p}" for k in (6, 7, 8) for p in ("weight", "bias")]
    model = models.build("VGG-Face", "paper", weights=tmp_path / "vgg-face.pt").eval()
    x = faces()
    with torch.no_grad():
        ours = model.trunk.vgg(x)["last-pool"]
        close(ours, vgg_face_reference(state, x, grey_border=True))
    # a trunk that stops early (Table 5's all-convolution rows) takes the same file (small GRUs: tap_pool)
    early = models.build("CNN-3RNN-3rd-conv_4th-conv_5th-conv", "paper", weights=tmp_path / "vgg-face.pt", tap_pool=2)
    assert torch.equal(early.trunk.vgg.features.get_submodule("10").weight, state["conv3_1.weight"])
    record = starting_weights("VGG-Face", tmp_path / "vgg-face.pt")
    assert record.start == "vgg-face" and record.source_sha256 == meta["source_sha256"]


@pytest.mark.parametrize("backbone,stem,norm", [("resnet50", "conv1", "bn1"), ("densenet121", "features.conv0", "features.norm0")])
def test_imagenet_normalisation_is_folded_into_the_stem(tmp_path, backbone, stem, norm):
    torch.manual_seed(0)
    original = resnet.resnet50() if backbone == "resnet50" else densenet.densenet121()
    for m in original.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    # as torchvision's published files: no batch-norm counters, DenseNet's old "norm.1" names
    state = {k.replace("denselayer1.norm1.", "denselayer1.norm.1."): v for k, v in original.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / f"{backbone}.pth")
    import_weights(backbone, tmp_path / f"{backbone}.pth", tmp_path / "converted.pt")
    name = {"resnet50": "ResNet-50", "densenet121": "DenseNet-121"}[backbone]
    model = models.build(name, "paper", weights=tmp_path / "converted.pt").eval()
    original.eval()
    x = faces()
    normalised = ((x + 1) / 2 - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
    ours_stem = model.trunk.pooled.extractor.get_submodule(stem)
    ours_norm = model.trunk.pooled.extractor.get_submodule(norm)
    with torch.no_grad():
        ours = ours_norm(ours_stem(x))
        theirs = original.get_submodule(norm)(original.get_submodule(stem)(normalised))
        close(ours[..., 2:-2, 2:-2], theirs[..., 2:-2, 2:-2])  # exact where the 7x7 stem sees no padding
        original.get_submodule(stem).padding = (0, 0)
        grey = F.pad(x, (3, 3, 3, 3))  # mid-grey border, as omglib's zero padding means
        normalised = ((grey + 1) / 2 - torch.tensor(IMAGENET_MEAN)[:, None, None]) / torch.tensor(IMAGENET_STD)[:, None, None]
        whole = original.get_submodule(stem)
        if backbone == "resnet50":
            theirs = torch.flatten(original.avgpool(original.layer4(original.layer3(original.layer2(original.layer1(
                original.maxpool(original.relu(original.bn1(whole(normalised))))))))), 1)
        else:
            theirs = torch.flatten(F.adaptive_avg_pool2d(F.relu(original.features(normalised)), 1), 1)
        close(model.trunk.pooled(x), theirs)


def test_wrong_files_are_refused_naming_the_problem(tmp_path):
    state = vgg_face_dag(fc=False)
    del state["conv5_3.bias"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(OmgError, match=r"partial.pth: not VGG-Face: missing 1 keys \['conv5_3.bias'\]"):
        import_weights("vgg-face", tmp_path / "partial.pth", tmp_path / "out.pt")
    with pytest.raises(OmgError, match="not ImageNet ResNet-50"):
        import_weights("resnet50", tmp_path / "partial.pth", tmp_path / "out.pt")
    with pytest.raises(OmgError, match="gone.pth: weights file not found"):
        import_weights("vgg-face", tmp_path / "gone.pth", tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


def test_starting_weights_refuses_a_random_vgg_and_names_the_import_command():
    with pytest.raises(OmgError, match=r"omg weights import vgg-face vgg_face_dag.pth --out weights/vgg-face.pt"):
        starting_weights("CNN-3RNN-2nd-pool_last-pool_fc")
    assert starting_weights("Model-level Fusion + RNN", allow_random=True) == StartingWeights("random", "VGG-Face")
    assert starting_weights("AffWildNet") == StartingWeights("random", "ImageNet ResNet-50")


def test_cli_weights_import(tmp_path):
    torch.save(vgg_face_dag(fc=False), tmp_path / "vgg_face_dag.pth")
    run = [sys.executable, "-m", "omglib.cli", "weights", "import", "vgg-face"]
    done = subprocess.run([*run, str(tmp_path / "vgg_face_dag.pth")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote weights/vgg-face.pt: VGG-Face" in done.stdout and (tmp_path / "weights" / "vgg-face.pt").is_file()
    done = subprocess.run([*run, str(tmp_path / "missing.pth")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "missing.pth: weights file not found (the published VGG-Face" in done.stderr
