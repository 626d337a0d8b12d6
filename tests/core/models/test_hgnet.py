import torch

from semiocr.core.models.hgnet import PPHGNet, pphgnet_small


def test_pphgnet_small_shapes_and_size():
    net = pphgnet_small().eval()
    n_params = sum(p.numel() for p in net.parameters())
    # PP-HGNet-small's recognition backbone is ~20M parameters (PP-OCRv4-server-rec is ~ 25M with neck and head)
    assert 15e6 < n_params < 30e6, n_params
    assert net.out_channels == 1024
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 48, 320)).shape == (1, 1024, 1, 40)


def test_toy_hgnet_keeps_w_over_8_for_any_width_and_trains():
    stages = ((16, 8, 24, 1, True, (2, 1)), (24, 8, 32, 1, True, (1, 2)), (32, 8, 40, 2, True, (2, 1)),
              (40, 8, 48, 1, True, (2, 1)))
    net = PPHGNet((8, 8, 16), stages, layer_num=2)
    for w in (320, 488, 96):
        assert net(torch.randn(2, 3, 48, w)).shape == (2, 48, 1, w // 8)
    block = net.stages[2].blocks[1]
    assert block.identity and not net.stages[2].blocks[0].identity
    net(torch.randn(2, 3, 48, 64)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_server_rec_full_and_tiny_presets():
    from semiocr.core.models.registry import build_model

    full = build_model("PP-OCRv4-server-rec", num_classes=6625).eval()
    n = sum(p.numel() for p in full.parameters())
    assert 22e6 < n < 30e6, n
    assert isinstance(full.head.fc, torch.nn.Linear) and full.head.fc.in_features == 120
    with torch.no_grad():
        assert full(torch.zeros(1, 3, 48, 320)).shape == (1, 40, 6625)
    tiny = build_model("PP-OCRv4-server-rec-tiny", num_classes=11)
    out = tiny(torch.randn(2, 3, 48, 480))
    assert out.shape == (2, 60, 11)
    out.logsumexp(-1).sum().backward()
    assert tiny.backbone.stem[0].conv.weight.grad.abs().sum() > 0  # CTC reaches the backbone (no guide)
