import pytest
import torch

from omglib import models
from omglib.config import get_profile
from omglib.errors import OmgError
from omglib.models.backbones import VGGTaps, pooled_backbone, vgg_tap_node

REQUIRED = ["VGG-Face", "ResNet-50", "DenseNet-121", "AffWildNet", "DenseNet-RNN",
            "CNN-3RNN-2nd-pool_last-pool_fc", "CNN-1RNN-2nd-pool_last-pool_fc",
            "CNN-3RNN-8th-conv_last-pool_fc", "CNN-3RNN-5th-conv_last-pool_fc", "CNN-3RNN-3rd-conv_7th-conv_fc",
            "CNN-3RNN-last-conv_last-pool_fc", "CNN-3RNN-6th-conv_7th-conv_8th-conv",
            "CNN-3RNN-7th-conv_8th-conv_9th-conv", "CNN-3RNN-3rd-conv_4th-conv_5th-conv",
            "CNN-2RNN", "CNN-2RNN-1FC", "CNN2-to-1RNN", "CNN-3RNN-1FC",
            "Model-level Fusion + RNN", "Model-level Fusion + FC"]


def inputs(b=2, t=4, size=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    faces = torch.rand(b, t, 3, size, size, generator=g) * 2 - 1
    landmarks = torch.rand(b, t, 136, generator=g) * 2 - 1
    return faces, landmarks


def test_registry_holds_the_papers_names():
    assert set(REQUIRED) <= set(models.names())
    assert len(models.names()) == len(set(models.names()))


@pytest.mark.parametrize("name", models.names())
def test_every_network_maps_sequences_to_bounded_va(name):
    torch.manual_seed(0)
    model = models.build(name, "smoke")
    faces, landmarks = inputs()
    out = model(faces, landmarks)
    assert out.shape == (2, 4, 2)
    assert torch.isfinite(out).all() and out.abs().max() <= 1
    out.square().sum().backward()
    silent = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not silent, f"no gradient reaches {silent[:3]}"
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(faces, landmarks), model(faces, landmarks), rtol=0, atol=0)


def test_landmarks_flag_changes_the_input_of_the_fc():
    with_lm = models.build("CNN-3RNN-2nd-pool_last-pool_fc", "smoke")
    without = models.build("CNN-3RNN-2nd-pool_last-pool_fc", "smoke", landmarks=False)
    assert with_lm.fc[0].in_features - without.fc[0].in_features == 136
    faces, landmarks = inputs()
    without.eval()
    with torch.no_grad():  # without landmarks, the landmarks do not matter
        torch.testing.assert_close(without(faces, landmarks), without(faces, landmarks * 0.5))


def test_paper_size_backbones_match_the_reference_parameter_counts():
    with torch.device("meta"):
        vgg = VGGTaps(("2nd-pool", "last-pool"))
        resnet, resnet_channels = pooled_backbone("resnet50")
        densenet, densenet_channels = pooled_backbone("densenet121")
        taps = vgg(torch.zeros(1, 3, 96, 96))
    assert sum(p.numel() for p in vgg.parameters()) == 14_714_688
    assert sum(p.numel() for p in resnet.parameters()) == 23_508_032 and resnet_channels == 2048
    assert sum(p.numel() for p in densenet.parameters()) == 6_953_856 and densenet_channels == 1024
    assert tuple(taps["2nd-pool"].shape[1:]) == (128, 24, 24)
    assert tuple(taps["last-pool"].shape[1:]) == (512, 3, 3)
    with torch.device("meta"):
        shallow = models.build("CNN-3RNN-3rd-conv_4th-conv_5th-conv", "paper")
    assert shallow.fc is None  # layers above the deepest tap are not built: no FC, no landmarks
    assert sum(p.numel() for p in shallow.trunk.parameters()) < 14_714_688 / 10


def test_paper_size_feeds_flattened_taps_to_the_grus():
    with torch.device("meta"):
        model = models.build("CNN-3RNN-2nd-pool_last-pool_fc", "paper")
        one = models.build("CNN-1RNN-2nd-pool_last-pool_fc", "paper")
    assert [r.gru.input_size for r in model.rnns] == [128 * 24 * 24, 512 * 3 * 3, 4096]
    assert one.rnns[0].gru.input_size == 128 * 24 * 24 + 512 * 3 * 3 + 4096
    assert model.fc[0].in_features == 512 * 3 * 3 + 136
    assert all(r.gru.hidden_size == 128 and r.gru.num_layers == 2 and r.gru.dropout == 0.2 for r in model.rnns)
    assert get_profile("quick").model.tap_pool == 4  # the CPU profiles pool taps: a named, visible reduction


def test_paper_tap_names():
    assert vgg_tap_node("2nd-pool") == "9" and vgg_tap_node("last-pool") == "30"
    assert vgg_tap_node("4th-conv") == "8" and vgg_tap_node("last-conv") == "29"  # ReLU after conv2_2, conv5_3
    with pytest.raises(OmgError, match="unknown VGG tap"):
        vgg_tap_node("14th-conv")
    with pytest.raises(OmgError, match="takes 3 different taps"):
        models.build("CNN-3RNN-2nd-pool_fc", "smoke")
    with pytest.raises(OmgError, match="unknown model"):
        models.build("GPT-5", "smoke")
    custom = models.build("CNN-2RNN-5th-conv_fc", "smoke")
    assert custom.taps == ("5th-conv", "fc")


def test_weights_torchvision_style_backbone_and_whole_checkpoint(tmp_path):
    source = models.build("VGG-Face", "smoke")
    torchvision_style = {f"features.{k}": v for k, v in source.trunk.vgg.features.state_dict().items()}
    torchvision_style["classifier.0.weight"] = torch.zeros(3, 3)  # a classifier is ignored
    torch.save(torchvision_style, tmp_path / "vgg.pth")
    target = models.build("CNN-3RNN-2nd-pool_last-pool_fc", "smoke", weights=tmp_path / "vgg.pth")
    for key, value in source.trunk.vgg.features.state_dict().items():
        torch.testing.assert_close(target.trunk.vgg.features.state_dict()[key], value)
    torch.save(target.state_dict(), tmp_path / "whole.pth")
    again = models.build("CNN-3RNN-2nd-pool_last-pool_fc", "smoke", weights=tmp_path / "whole.pth")
    for key, value in target.state_dict().items():
        torch.testing.assert_close(again.state_dict()[key], value)


def test_weights_that_do_not_fit_are_refused_with_the_keys(tmp_path):
    state = {f"features.{k}": v for k, v in models.build("VGG-Face", "smoke").trunk.vgg.features.state_dict().items()}
    del state["features.0.weight"]
    state["features.99.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(OmgError, match=r"missing 1 keys \['0.weight'\], unexpected 1 keys \['features.99.weight'\]"):
        models.build("VGG-Face", "smoke", weights=tmp_path / "bad.pth")
    torch.save(models.build("VGG-Face", "smoke").state_dict(), tmp_path / "smoke.pth")
    with pytest.raises(OmgError, match="another profile"):
        models.build("VGG-Face", "quick", weights=tmp_path / "smoke.pth")
    (tmp_path / "junk.pth").write_text("nope")
    with pytest.raises(OmgError, match="not a torch state_dict"):
        models.build("VGG-Face", "smoke", weights=tmp_path / "junk.pth")


def test_describe_counts_parameters_and_flops():
    rows = {r["name"]: r for r in models.describe("paper")}
    assert rows["VGG-Face"]["parameters"] == 14_714_688 + (4608 + 136) * 4096 + 4096 + 4096 * 2 + 2
    assert rows["VGG-Face"]["gflops_per_frame"] == pytest.approx(5.68, abs=0.01)  # VGG-16 at 96x96: 2.84 GMACs
    assert rows["Model-level Fusion + RNN"]["gflops_per_frame"] > 2 * rows["CNN-3RNN-2nd-pool_last-pool_fc"]["gflops_per_frame"] * 0.99


def test_pooled_last_pool_tap_and_unpooled_fc_input_have_their_own_sizes():
    with torch.device("meta"):
        model = models.build("CNN-3RNN-2nd-pool_last-pool_fc", "paper", tap_pool=1)
        out = model(torch.zeros(1, 2, 3, 96, 96), torch.zeros(1, 2, 136))
    assert [r.gru.input_size for r in model.rnns] == [128, 512, 4096]  # taps pooled to 1 x 1
    assert model.fc[0].in_features == 512 * 3 * 3 + 136  # the FC still reads the whole last pool
    assert tuple(out.shape) == (1, 2, 2)


def test_landmark_dropout_hides_a_frames_landmarks_only_while_training():
    from dataclasses import replace

    from omglib.models.networks import LandmarkJoin

    config = replace(get_profile("smoke").model, landmark_dropout=0.5)
    join = LandmarkJoin(config)
    features, landmarks = torch.zeros(2, 500, 3), torch.randn(2, 500, 136)
    join.train()
    torch.manual_seed(0)
    scaled = join(features, landmarks)[..., 3:]
    hidden = (scaled == 0).all(-1)  # a frame's landmarks are hidden whole (the training mean), or kept whole
    assert ((scaled == landmarks) | hidden[..., None]).all() and 0.4 < hidden.float().mean() < 0.6
    join.eval()
    assert torch.equal(join(features, landmarks)[..., 3:], landmarks)  # never at prediction
    plain = LandmarkJoin(get_profile("smoke").model).train()
    assert torch.equal(plain(features, landmarks)[..., 3:], landmarks)  # the paper's: off


@pytest.mark.parametrize("divisor, size", [(8, 48), (1, 32)])  # the quick trunk; VGG-16's own width
def test_a_random_vgg_trunk_passes_on_what_tells_images_apart(divisor, size):
    """Initialised as torchvision's VGG (He normal), not PyTorch's default layer init, under which
    the last pool's differences between images are ~1e-5 of the first pool's: a trunk trained from
    random weights (the CPU profiles) would start blind."""
    from omglib.models.backbones import vgg_features

    torch.manual_seed(0)
    x, spread = torch.rand(8, 3, size, size) * 2 - 1, []
    with torch.no_grad():
        for layer in vgg_features(divisor):
            x = layer(x)
            if isinstance(layer, torch.nn.MaxPool2d):
                spread.append(x.flatten(1).std(0).mean().item())
    assert spread[-1] > 0.03 * spread[0], spread
