"""``semiocr dataset ...``: check, gen-dict, importers, synthetic data and the workspace dataset store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from semiocr.cli.console import ProgressBar
from semiocr.core.data.gendict import generate_dict
from semiocr.core.data.importers import ImportResult, import_det_labels, import_ppocrlabel_rec
from semiocr.core.data.labels import DatasetError
from semiocr.core.data.report import DatasetReport
from semiocr.core.data.synth import SynthConfig, generate_dataset
from semiocr.core.data.validate import CheckOptions, validate_dataset
from semiocr.platform.datasets import DatasetInvalidError, DatasetStore, DatasetStoreError

app = typer.Typer(name="dataset", help="Validate, import, generate and register datasets.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)

SPACE_OPT = typer.Option(True, "--space/--no-space", help="The model's space option: a space in labels is a class.")
MAXLEN_OPT = typer.Option(25, help="Labels longer than this get a warning (PaddleOCR's max_text_length).")


def print_report(report: DatasetReport, max_per_code: int = 5) -> None:
    """Print a report's human summary, errors in red and warnings in yellow."""
    for line in report.summary(max_per_code).splitlines():
        style = "bold red" if "ERROR" in line or "FAILED" in line else "yellow" if "WARNING" in line else None
        console.print(line, style=style, markup=False)


def _fail(message: str) -> None:
    console.print(f"error: {message}", style="bold red", markup=False)
    raise typer.Exit(1)


@app.command()
def check(directory: Path = typer.Argument(..., help="Dataset directory (MSTextRecLMSSLDataset layout)."),
          json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
          out: Path | None = typer.Option(None, help="Write report.json and histogram PNGs into this folder."),
          space: bool = SPACE_OPT, max_text_length: int = MAXLEN_OPT,
          images: bool = typer.Option(True, "--images/--no-images", help="Decode every image."),
          det_only: bool = typer.Option(False, "--det-only", help="A detection-only dataset (det_*.txt)."),
          rare_below: int = typer.Option(3, min=0, help="Warn about characters of val.txt that fewer train.txt "
                                                        "lines hold (0: off)."),
          show: int = typer.Option(5, help="Issues shown per kind (all are in the JSON report).")) -> None:
    """Validate a dataset: every problem with file and line; exit code 1 when there are errors."""
    report = validate_dataset(directory, CheckOptions(use_space=space, max_text_length=max_text_length,
                                                      check_images=images, recognition=not det_only,
                                                      min_train_lines_per_char=rare_below),
                              progress=ProgressBar("images"))
    print_report(report, show)
    if json_path is not None:
        console.print(f"JSON report: {report.write_json(json_path)}", markup=False)
    if out is not None:
        report.write_json(out / "report.json")
        pics = report.write_plots(out)
        console.print(f"report and histograms: {out}/report.json, " + ", ".join(p.name for p in pics), markup=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command("gen-dict")
def gen_dict(directory: Path = typer.Argument(..., help="Dataset directory with train.txt / val.txt."),
             out: Path | None = typer.Option(None, help="Where to write (default DIR/dict.txt)."),
             force: bool = typer.Option(False, help="Overwrite an existing dict file."),
             space: bool = SPACE_OPT) -> None:
    """Write dict.txt from the characters of the train and val labels."""
    try:
        charset, path = generate_dict(directory, out, use_space=space, overwrite=force)
    except (DatasetError, FileExistsError) as e:
        _fail(str(e))
    console.print(f"wrote {len(charset.chars)} characters to {path} ({charset.num_classes} classes with blank"
                  + (" and space)" if space else ")"), markup=False)


def _after_import(res: ImportResult) -> None:
    console.print(f"imported into {res.out}: " + ", ".join(f"{k}={v}" for k, v in res.counts.items()), markup=False)
    for note in res.notes:
        console.print(f"  note: {note}", markup=False)
    report = validate_dataset(res.out, CheckOptions(recognition=(res.out / "train.txt").is_file()))
    print_report(report)
    if not report.ok:
        raise typer.Exit(1)


@app.command("import-ppocrlabel")
def import_ppocrlabel(src: Path = typer.Argument(..., help="Folder with rec_gt*.txt and crop_img/ (PPOCRLabel)."),
                      out: Path = typer.Argument(..., help="New dataset directory."),
                      unlabeled: Path | None = typer.Option(None, help="Folder of unlabelled images (the pool)."),
                      val_fraction: float = typer.Option(0.1, help="Share of rec_gt.txt split off as val."),
                      seed: int = typer.Option(0), space: bool = SPACE_OPT) -> None:
    """Import PPOCRLabel recognition output as an MSTextRecLMSSLDataset, then validate it."""
    try:
        res = import_ppocrlabel_rec(src, out, val_fraction, seed, unlabeled, use_space=space)
    except DatasetError as e:
        _fail(str(e))
    _after_import(res)


@app.command("import-det")
def import_det(label_file: Path = typer.Argument(..., help="PaddleOCR/PPOCRLabel detection Label.txt."),
               out: Path = typer.Argument(..., help="Dataset directory (new, or a recognition dataset)."),
               val_file: Path | None = typer.Option(None, help="A separate Label.txt for validation."),
               val_fraction: float = typer.Option(0.1), seed: int = typer.Option(0),
               folder: str = typer.Option("pages", help="Images go to images/<folder>/.")) -> None:
    """Import detection labels as det_train.txt / det_val.txt (### = ignore)."""
    try:
        res = import_det_labels(label_file, out, val_file, val_fraction, seed, folder)
    except DatasetError as e:
        _fail(str(e))
    _after_import(res)


@app.command()
def synth(out: Path = typer.Argument(..., help="New dataset directory."),
          train: int = typer.Option(200), val: int = typer.Option(50), test: int = typer.Option(50),
          unlabeled: int = typer.Option(400), pages_train: int = typer.Option(0), pages_val: int = typer.Option(0),
          seed: int = typer.Option(0)) -> None:
    """Generate a synthetic dataset (text lines, optionally pages) in the MSTextRecLMSSLDataset layout."""
    cfg = SynthConfig(n_train=train, n_val=val, n_test=test, n_unlabeled=unlabeled, pages_train=pages_train,
                      pages_val=pages_val, seed=seed)
    try:
        generate_dataset(out, cfg)
    except FileExistsError as e:
        _fail(str(e))
    console.print(f"wrote synthetic dataset to {out}", markup=False)


@app.command()
def add(directory: Path = typer.Argument(..., help="Dataset directory to validate and store."),
        name: str = typer.Option(..., "--name", help="Name in the workspace."),
        space: bool = SPACE_OPT, max_text_length: int = MAXLEN_OPT) -> None:
    """Validate and copy a dataset into the workspace ($SEMIOCR_HOME); changed content = new version."""
    store = DatasetStore()
    try:
        res = store.add(directory, name, CheckOptions(use_space=space, max_text_length=max_text_length))
    except DatasetInvalidError as e:
        print_report(e.report)
        _fail(str(e))
    except DatasetStoreError as e:
        _fail(str(e))
    ds = res.dataset
    verb = "stored" if res.created else "unchanged, already stored as"
    console.print(f"{verb} {ds.ref} ({ds.hash[:19]}…) at {ds.path}", markup=False)


@app.command("list")
def list_(all_versions: bool = typer.Option(False, "--all", help="Every version, not only the latest.")) -> None:
    """List stored datasets."""
    store = DatasetStore()
    rows = store.list()
    if not all_versions:
        rows = list({d.name: d for d in rows}.values())
    table = Table(title=str(store.root))
    table.add_column("name", no_wrap=True, min_width=max([len(d.name) for d in rows] + [4]))
    for col in ("ver", "hash", "train", "val", "unlab.", "created"):
        table.add_column(col, no_wrap=col != "created")
    for d in rows:
        table.add_row(d.name, f"v{d.version}", d.hash[7:15], *(str(d.counts.get(k, "")) for k in
                                                              ("train", "val", "unlabeled")),
                      d.created[:16].replace("T", " "))
    console.print(table)


@app.command()
def show(name: str = typer.Argument(..., help="NAME or NAME:vN.")) -> None:
    """Show one stored dataset version."""
    try:
        d = DatasetStore().get(name)
    except DatasetStoreError as e:
        _fail(str(e))
    for key, value in (("name", d.ref), ("hash", d.hash), ("path", d.path), ("source", d.source),
                       ("created", d.created), ("files", f"{d.num_files} ({d.num_bytes:,} bytes)"),
                       ("counts", ", ".join(f"{k}={v}" for k, v in d.counts.items())), ("warnings", d.num_warnings)):
        console.print(f"{key:>9}: {value}", markup=False)


@app.command()
def remove(name: str = typer.Argument(..., help="NAME (every version) or NAME:vN."),
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Remove a stored dataset (or one version) from the workspace."""
    if not yes:
        typer.confirm(f"remove {name} from the workspace?", abort=True)
    try:
        gone = DatasetStore().remove(name)
    except DatasetStoreError as e:
        _fail(str(e))
    console.print("removed " + ", ".join(d.ref for d in gone), markup=False)
