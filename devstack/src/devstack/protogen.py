"""`make proto` / `make proto-check`: generate Python code and mypy stubs for proto/.

Output goes to libs/contracts/src (package ``govproj``); ``--check`` generates into a temp folder
and fails when the committed files differ, so hand edits and forgotten regenerations are caught.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROTO_ROOT = ROOT / "proto"
GENERATED_PACKAGE = "govproj"


def generate(out: Path) -> None:
    """Run protoc (from grpcio-tools) with the Python, gRPC and mypy-protobuf plugins."""
    import grpc_tools

    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    bin_dir = Path(sys.executable).parent
    include = Path(grpc_tools.__file__).parent / "_proto"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--plugin=protoc-gen-mypy={bin_dir / 'protoc-gen-mypy'}",
            f"--plugin=protoc-gen-mypy_grpc={bin_dir / 'protoc-gen-mypy_grpc'}",
            f"--mypy_out={out}",
            f"--mypy_grpc_out={out}",
            *protos,
        ],
        check=True,
        cwd=PROTO_ROOT,
        capture_output=True,  # mypy-protobuf narrates every file; errors still raise with stderr
    )
    # protoc writes plain folders; make them regular packages so imports and mypy agree.
    for folder in [out / GENERATED_PACKAGE, *(p for p in (out / GENERATED_PACKAGE).rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    (out / GENERATED_PACKAGE / "py.typed").touch()


def _tree(path: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted((path / GENERATED_PACKAGE).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def main() -> int:
    """CLI: `python -m devstack.protogen [--check] --out DIR`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    out = args.out if args.out.is_absolute() else ROOT / args.out
    if not args.check:
        shutil.rmtree(out / GENERATED_PACKAGE, ignore_errors=True)
        generate(out)
        print(f"generated {len(_tree(out))} files into {out / GENERATED_PACKAGE}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh, committed = _tree(Path(tmp)), _tree(out)
    drift = sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))
    if drift:
        print("generated code drifted from proto/ (run `make proto`):", *drift, sep="\n  ", file=sys.stderr)
        return 1
    print(f"proto-check: {len(fresh)} generated files match proto/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
