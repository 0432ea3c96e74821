#!/usr/bin/env python3
"""Checks that the rust-version this workspace declares is at least the rust-version of
every package in Cargo.lock: a locked dependency that needs a newer Rust makes the declared
minimum a lie (the build stops on the older toolchains it claims to support).

Reads `cargo metadata --format-version 1 --locked`; exits 1 naming each package that needs
more than a workspace member declares, 2 if the metadata cannot be read.
"""
import json
import subprocess
import sys


def version(v):
    """'1.95' or '1.95.0' as a comparable tuple (missing parts count as 0)."""
    parts = [int(p) for p in v.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"check-msrv: cannot read cargo metadata: {err.strip()}", file=sys.stderr)
        return 2
    meta = json.loads(out)
    members = set(meta["workspace_members"])
    ours = [p for p in meta["packages"] if p["id"] in members]
    deps = [p for p in meta["packages"] if p["id"] not in members and p.get("rust_version")]
    bad = 0
    for member in ours:
        declared = member.get("rust_version")
        if not declared:
            print(f"check-msrv: {member['name']} declares no rust-version", file=sys.stderr)
            bad += 1
            continue
        for dep in deps:
            if version(dep["rust_version"]) > version(declared):
                print(
                    f"check-msrv: {member['name']} declares rust-version {declared}, but the locked "
                    f"{dep['name']} {dep['version']} needs {dep['rust_version']}",
                    file=sys.stderr,
                )
                bad += 1
    if bad:
        return 1
    need = max((version(d["rust_version"]), d["name"], d["version"]) for d in deps) if deps else None
    declared = sorted({m["rust_version"] for m in ours})
    if need:
        print(
            f"rust-version {', '.join(declared)} covers every locked dependency "
            f"(the highest: {need[1]} {need[2]} needs {'.'.join(map(str, need[0][:2]))})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
