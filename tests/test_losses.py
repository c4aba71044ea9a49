import numpy as np
import pytest
import torch

from omglib import metrics
from omglib.losses import ccc_loss, ccc_torch


def test_loss_is_one_minus_mean_ccc():
    rng = np.random.default_rng(0)
    target = rng.uniform(-1, 1, (4, 80, 2))
    pred = 0.5 * target + rng.normal(0, 0.3, target.shape)
    expected = 1 - np.mean([metrics.ccc(target[..., d], pred[..., d]) for d in range(2)])
    loss = ccc_loss(torch.tensor(pred), torch.tensor(target))
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    valence_only = ccc_loss(torch.tensor(pred), torch.tensor(target), weights=(1.0, 0.0))
    assert valence_only.item() == pytest.approx(1 - metrics.ccc(target[..., 0], pred[..., 0]), abs=1e-6)


def test_gradient_matches_finite_differences():
    torch.manual_seed(0)
    pred = torch.randn(3, 10, 2, dtype=torch.float64, requires_grad=True)
    target = torch.randn(3, 10, 2, dtype=torch.float64)

    def loss64(p):  # ccc_torch computes in float32; check the same formula in float64
        p2, t2 = p.reshape(-1, 2).T, target.reshape(-1, 2).T
        mp, mt = p2.mean(1, keepdim=True), t2.mean(1, keepdim=True)
        cov = ((p2 - mp) * (t2 - mt)).mean(1)
        ccc = 2 * cov / (p2.var(1, unbiased=False) + t2.var(1, unbiased=False) + (mp - mt).squeeze(1) ** 2)
        return 1 - ccc.mean()

    assert torch.autograd.gradcheck(loss64, (pred,))
    auto = torch.autograd.grad(ccc_loss(pred, target), pred)[0]
    reference = torch.autograd.grad(loss64(pred), pred)[0]
    torch.testing.assert_close(auto, reference, atol=1e-5, rtol=1e-4)


def test_finite_for_constant_inputs_and_masks():
    target = torch.zeros(2, 5, 2)
    pred = torch.zeros(2, 5, 2, requires_grad=True)
    loss = ccc_loss(pred, target)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()
    varying = torch.linspace(-1, 1, 10).reshape(1, 10, 1).repeat(1, 1, 2)
    assert ccc_loss(torch.zeros_like(varying), varying).item() == pytest.approx(1.0)
    mask = torch.ones(1, 10)
    mask[0, :3] = 0
    garbage = varying.clone()
    garbage[0, :3] = 99.0
    assert ccc_loss(garbage, varying, mask=mask).item() == pytest.approx(0.0, abs=1e-5)


def test_bf16_autocast():
    torch.manual_seed(1)
    target = torch.rand(4, 80, 2) * 2 - 1
    weight = torch.nn.Parameter(torch.randn(2, 2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        pred = target @ weight
        assert pred.dtype == torch.bfloat16
        loss = ccc_loss(pred, target)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(weight.grad).all()
    assert loss.item() == pytest.approx(ccc_loss(target @ weight.detach(), target).item(), abs=0.02)


def test_ccc_torch_matches_numpy_per_row():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 40)), rng.normal(size=(3, 40))
    got = ccc_torch(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(got, [metrics.ccc(x, y) for x, y in zip(b, a)], atol=1e-6)
