"""A stand-in for pip in the kfp-argo e2e images, which have no PyPI.

This is NOT pip. The e2e cluster never reaches a package index, yet KFP's
lightweight components start with `python3 -m pip install 'kfp==X' --no-deps`
and similar. This stand-in lets such a command succeed when every requested
distribution (after evaluating its environment marker) is already installed or
importable in the image, and fails with a message naming what is missing
otherwise. Version specifiers are NOT checked: `kfp==2.14.3` is satisfied by
whatever kfp the image has (the KFP SDK 2.16.1 source). Extras are not checked
either.
"""

import importlib.metadata
import importlib.util
import os
import sys

__version__ = "0+kfp-argo-e2e-stand-in"

NOTE = "this image has no PyPI; pip is a stand-in (see hack/e2e/images/python/pip)"

# Options of `pip install` that take a value, so that the value is not taken
# for a requirement.
_VALUE_OPTIONS = {
    "-c", "--constraint", "-i", "--index-url", "--extra-index-url",
    "--trusted-host", "-f", "--find-links", "-t", "--target", "--prefix",
    "--root", "--root-user-action", "--progress-bar", "--timeout",
    "--default-timeout", "--retries", "--cache-dir", "--src",
    "--upgrade-strategy", "--platform", "--python-version", "--implementation",
    "--abi", "--no-binary", "--only-binary", "--global-option",
    "--config-settings", "-C", "--log", "--proxy", "--cert", "--client-cert",
    "--exists-action", "--report", "--python",
}


class StandInError(Exception):
    pass


def _requirement_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise StandInError(f"cannot read requirements file {path}: {e}") from e
    out = []
    for line in text.replace("\\\n", "").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            out += _requirement_lines(line.split(None, 1)[1])
        elif line.startswith("-"):
            continue  # index options in a requirements file
        else:
            out.append(line)
    return out


def _parse_install(args):
    reqs = []
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a in ("-r", "--requirement"):
            if i >= len(args):
                raise StandInError(f"{a} needs a file")
            reqs += _requirement_lines(args[i])
            i += 1
        elif a.startswith("--requirement="):
            reqs += _requirement_lines(a.split("=", 1)[1])
        elif a in ("-e", "--editable"):
            raise StandInError("cannot install an editable project")
        elif a in _VALUE_OPTIONS:
            i += 1
        elif a.startswith("-"):
            continue
        else:
            reqs.append(a)
    return reqs


def _installed(dist):
    try:
        importlib.metadata.distribution(dist)
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    module = dist.lower().replace("-", "_").replace(".", "_")
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _missing(reqs):
    from packaging.requirements import InvalidRequirement, Requirement

    missing = []
    for text in reqs:
        try:
            req = Requirement(text)
        except InvalidRequirement as e:
            raise StandInError(
                f"cannot install {text!r}: only requirements naming a "
                f"distribution are understood ({e})") from e
        if req.marker is not None and not req.marker.evaluate():
            continue
        if req.url:
            raise StandInError(f"cannot install {text!r} from a URL")
        if not _installed(req.name):
            missing.append(text)
    return missing


def install(args):
    reqs = _parse_install(args)
    if not reqs:
        raise StandInError("install: no requirements given")
    missing = _missing(reqs)
    if missing:
        raise StandInError(
            "not installed in this image and cannot be downloaded: "
            + ", ".join(repr(m) for m in missing))
    if "-q" not in args and "--quiet" not in args:
        print(f"pip stand-in: already installed (versions not checked): "
              f"{' '.join(reqs)}")
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    cmd = next((a for a in argv if not a.startswith("-")), None)
    try:
        if cmd is None:
            if "--version" in argv or "-V" in argv:
                print(f"pip {__version__} from {os.path.dirname(__file__)} ({NOTE})")
                return 0
            raise StandInError("no command given")
        rest = argv[argv.index(cmd) + 1:]
        if cmd == "install":
            return install(rest)
        if cmd in ("list", "freeze"):
            for d in sorted(importlib.metadata.distributions(),
                            key=lambda d: d.metadata["Name"].lower()):
                print(f"{d.metadata['Name']}=={d.version}")
            return 0
        raise StandInError(f"command {cmd!r} is not supported")
    except StandInError as e:
        print(f"ERROR: {e}\nERROR: {NOTE}", file=sys.stderr)
        return 1
