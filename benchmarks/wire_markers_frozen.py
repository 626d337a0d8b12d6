"""Fine-tune neck + CTC head of the imported PP-OCRv4 mobile rec on cached backbone features (CPU-cheap).

On a shared 2-core CPU, back-propagating through PP-LCNetV3's depthwise convs costs ~100 s per batch of 32, so
this benchmark freezes the backbone (its weights and BatchNorm statistics), computes its features once per
line (each line alone, padded to width >= 320), and trains the SVTR neck and the CTC head on them. Selection on
val, final numbers on test. The dict is the dataset's (CTC head surgery keeps the pretrained rows).

Usage: PYTHONPATH=src python benchmarks/wire_markers_frozen.py [--epochs 60] [--lr 1e-3] [--cache feats.pt]
"""

from __future__ import annotations

import argparse
import copy
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from wire_markers_common import DATA, load_split

from semiocr.core.eval.recognition import rec_metrics
from semiocr.core.losses import CTCLoss
from semiocr.core.models.pretrained import load_preset
from semiocr.core.models.surgery import adapt_ctc_head
from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import ctc_greedy_decode
from semiocr.runtime.rec_preprocess import batch_width, preprocess_batch


@torch.no_grad()
def backbone_features(model: torch.nn.Module, images: list[np.ndarray], chunk: int = 32) -> list[torch.Tensor]:
    """``[C, 1, T]`` backbone features of each image, each preprocessed alone (width >= 320)."""
    by_width: dict[int, list[int]] = defaultdict(list)
    for i, img in enumerate(images):
        by_width[batch_width([img])].append(i)
    out: list[torch.Tensor | None] = [None] * len(images)
    for idx in by_width.values():
        for k in range(0, len(idx), chunk):
            part = idx[k:k + chunk]
            feats = model.backbone(torch.from_numpy(preprocess_batch([images[i] for i in part])))
            for j, i in enumerate(part):
                out[i] = feats[j]
    return out  # type: ignore[return-value]


@torch.no_grad()
def predict(model: torch.nn.Module, feats: list[torch.Tensor], charset: Charset, chunk: int = 64) -> list[str]:
    """Texts from cached features (neck + head); lines batched only with lines of the same width (no padding)."""
    model.eval()
    by_width: dict[int, list[int]] = defaultdict(list)
    for i, f in enumerate(feats):
        by_width[f.shape[-1]].append(i)
    out = [""] * len(feats)
    for idx in by_width.values():
        for k in range(0, len(idx), chunk):
            part = idx[k:k + chunk]
            probs = torch.softmax(model.head(model.neck(torch.stack([feats[i] for i in part]))), -1)
            for i, d in zip(part, ctc_greedy_decode(probs.numpy(), charset), strict=True):
                out[i] = d.text
    return out


def train(model, charset, feats, texts, val_feats, val_texts, args) -> tuple[dict, int, float]:
    """AdamW + cosine on neck+head; returns the best-on-val state, its epoch and val exact accuracy."""
    params = [p for m in (model.neck, model.head) for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    codes = [torch.tensor(charset.encode(t)) for t in texts]
    steps = args.epochs * ((len(feats) + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=steps, pct_start=0.05)
    loss_fn, rng = CTCLoss(), np.random.default_rng(0)
    best = (copy.deepcopy(model.state_dict()), 0, rec_metrics(predict(model, val_feats, charset), val_texts)["acc"])
    for epoch in range(1, args.epochs + 1):
        model.train()
        model.backbone.eval()
        order = rng.permutation(len(feats))
        for k in range(0, len(order), args.batch_size):
            idx = order[k:k + args.batch_size]
            width = max(feats[i].shape[-1] for i in idx)
            x = torch.stack([torch.nn.functional.pad(feats[i], (0, width - feats[i].shape[-1])) for i in idx])
            loss = loss_fn(model.head(model.neck(x)), torch.cat([codes[i] for i in idx]),
                           torch.tensor([len(codes[i]) for i in idx]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            sched.step()
        if epoch % args.eval_interval == 0 or epoch == args.epochs:
            acc = rec_metrics(predict(model, val_feats, charset), val_texts)["acc"]
            print(f"epoch {epoch}: loss {loss.item():.3f} val exact {100 * acc:.1f}%", flush=True)
            if acc > best[2]:
                best = (copy.deepcopy(model.state_dict()), epoch, acc)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-interval", type=int, default=5)
    ap.add_argument("--cache", help="file to keep the backbone features in between runs (torch.save)")
    args = ap.parse_args()
    torch.manual_seed(0)
    model, default, _ = load_preset("PP-OCRv4-mobile-rec")
    t0 = time.perf_counter()
    splits = {name: load_split(f"{name}.txt") for name in ("train", "val", "test")}
    if args.cache and Path(args.cache).is_file():
        feats = torch.load(args.cache)
    else:
        feats = {name: backbone_features(model, imgs) for name, (imgs, _) in splits.items()}
        if args.cache:
            torch.save(feats, args.cache)
    t_feat = time.perf_counter() - t0
    texts = {name: labels for name, (_, labels) in splits.items()}
    zero = rec_metrics(predict(model, feats["test"], default), texts["test"])
    print(f"backbone features of {sum(map(len, feats.values()))} lines in {t_feat / 60:.1f} min", flush=True)
    print(f"zero-shot (default dict, per-line padding): test exact {100 * zero['acc']:.1f}% "
          f"1-NED {zero['norm_edit']:.3f} CER {zero['cer']:.3f}", flush=True)
    charset = Charset.from_file(DATA / "dict.txt", use_space=True)
    carried = adapt_ctc_head(model, default, charset)
    surgery = rec_metrics(predict(model, feats["test"], charset), texts["test"])
    print(f"after head surgery to the dataset dict ({carried}/{charset.num_classes} rows carried): test exact "
          f"{100 * surgery['acc']:.1f}%", flush=True)
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    t0 = time.perf_counter()
    state, epoch, val_acc = train(model, charset, feats["train"], texts["train"], feats["val"], texts["val"], args)
    t_train = time.perf_counter() - t0
    model.load_state_dict(state)
    final = rec_metrics(predict(model, feats["test"], charset), texts["test"])
    print(f"fine-tuned neck+head {args.epochs} epochs in {t_train / 60:.1f} min; best val exact {100 * val_acc:.1f}% "
          f"(epoch {epoch}); test exact {100 * final['acc']:.1f}% 1-NED {final['norm_edit']:.3f} "
          f"CER {final['cer']:.3f}")


if __name__ == "__main__":
    main()
