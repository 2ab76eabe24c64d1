# kfp-argo wrapper for lightweight Python components (see DESIGN.md, "Runtime contract"). It builds the
# ExecutorInput (the $ placeholder) from the contract and the input values Argo put in the environment, runs the component's
# own command unchanged, and after a zero exit writes each output parameter to the file Argo reads. A non-zero
# exit code is passed through. Artifacts are handled by wrapper_artifacts.py, which runs before this file in the
# same module when a component of the workflow has artifacts (the compiler leaves it out otherwise).
import base64, json, os, re, signal, subprocess, sys

MARK = re.compile(r"%%kfpb64:([A-Za-z0-9+/=]*)%%")
NONE = "%%kfpb64:%%"
TOKEN = "%%kfpexec%%"
TOKENS = re.compile(r"%%kfpexec%%|%%kfplist:(.*?)%%")


def dec(s):
    return MARK.sub(lambda m: base64.b64decode(m.group(1)).decode("utf-8"), s)


def enc(s):
    # Inert when Argo would evaluate the text, when it looks like an inert value itself, when it ends in a
    # newline, which argoexec trims from every output file it reads, and when the kubelet could expand it in the
    # consumer's command or env ("$$", "$(", or a "$" or "(" at an end that meets the text around it).
    if "{" + "{" in s or "%%kfp" in s or s.endswith("\n") or "$$" in s or "$(" in s or s.startswith(("$", "(")) or s.endswith("$"):
        return "%%kfpb64:" + base64.b64encode(s.encode("utf-8")).decode("ascii") + "%%"
    return s


# What KFP's launcher accepts as a BOOLEAN (Go's strconv.ParseBool of the trimmed text).
BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
         "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def fail(msg):
    sys.stderr.write("kfp-argo: " + msg + "\n")
    sys.exit(1)


def typed(kind, raw, name):
    if kind == "STRING":
        return raw
    if kind == "BOOLEAN" and raw.strip() in BOOLS:
        return BOOLS[raw.strip()]
    try:
        v = json.loads(raw)
    except ValueError:
        fail("input parameter %s: expected %s, got %r" % (name, kind, raw))
    ok = {
        "NUMBER_INTEGER": lambda x: isinstance(x, int) and not isinstance(x, bool),
        "NUMBER_DOUBLE": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
        "BOOLEAN": lambda x: isinstance(x, bool),
        "LIST": lambda x: isinstance(x, list),
        "STRUCT": lambda x: isinstance(x, dict),
        "TASK_FINAL_STATUS": lambda x: isinstance(x, dict),
    }[kind]
    if kind == "NUMBER_INTEGER" and isinstance(v, float) and v.is_integer():
        v = int(v)
    if not ok(v):
        fail("input parameter %s: expected %s, got %r" % (name, kind, raw))
    if kind == "NUMBER_DOUBLE":
        v = float(v)
    return v


def canonical(kind, v):
    if kind == "STRING" and isinstance(v, str):
        return v
    if kind == "BOOLEAN" and isinstance(v, str):
        if v.strip() not in BOOLS:
            fail("BOOLEAN output %r is not a boolean" % v)
        v = BOOLS[v.strip()]
    if kind == "NUMBER_INTEGER" and isinstance(v, float) and v.is_integer():
        v = int(v)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    # The contract holds what cannot be derived: the pod's root folder, the inputs and outputs with their types
    # and paths, and where the tokens are. Input values come in KFP_ARGO_IN_<n> (parameters) and KFP_ARGO_AM_<n>
    # (artifact metadata), n the input's place in its contract list.
    c = json.loads(dec(os.environ["KFP_ARGO_CONTRACT"]))
    eo = c["root"] + "/task/executor_output.json"
    outs = {"outputFile": eo}
    # The task root: pythonic artifacts are written straight into it (dsl.get_uri()).
    dirs = {os.path.dirname(eo)}
    values = {}
    for i, p in enumerate(c.get("parameters", [])):
        raw = os.environ.get("KFP_ARGO_IN_%d" % i, NONE)
        if raw != NONE:
            values[p["name"]] = typed(p["type"], dec(raw), p["name"])
    inputs = {"parameterValues": values} if values else {}
    arts = input_artifacts(c) if c.get("artifacts") else {}
    if arts:
        inputs["artifacts"] = arts
    ps = {}
    for o in c.get("outputParameters", []):
        ps[o["name"]] = {"outputFile": o["path"]}
        dirs.add(os.path.dirname(o["path"]))
    if ps:
        outs["parameters"] = ps
    uris = output_artifacts(c, outs, dirs) if c.get("outputArtifacts") else {}
    for d in sorted(dirs):
        os.makedirs(d, exist_ok=True)
    executor_input = json.dumps({"outputs": outs, "inputs": inputs}, ensure_ascii=False)

    def token(m):
        if m.group(0) == TOKEN:
            return executor_input
        if m.group(1) not in arts:
            return m.group(0)
        return json.dumps(arts[m.group(1)]["artifacts"], ensure_ascii=False)

    # Tokens are replaced only in the items the contract marks, and in their raw text, where a token is always
    # kfp-argo's: a user value holding "%%kfp" arrives inert and is decoded after, never replaced.
    slots = set(c.get("tokenArgs", []))
    args = []
    for i, a in enumerate(argv):
        if i not in slots:
            args.append(dec(a))
            continue
        out, pos = [], 0
        for m in TOKENS.finditer(a):
            out.append(dec(a[pos:m.start()]))
            out.append(token(m))
            pos = m.end()
        out.append(dec(a[pos:]))
        args.append("".join(out))
    # Environment variables of the component whose values the compiler made inert, as the launcher does.
    for n in os.environ.pop("KFP_ARGO_DECODE_ENV", "").split():
        if n in os.environ:
            os.environ[n] = dec(os.environ[n])

    child = subprocess.Popen(args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    rc = child.wait()
    if rc < 0:
        rc = 128 - rc
    if rc != 0:
        sys.exit(rc)

    out = {}
    if os.path.exists(eo):
        with open(eo, encoding="utf-8") as f:
            out = json.load(f)
    pv = out.get("parameterValues", {})
    for o in c.get("outputParameters", []):
        if o["name"] in pv:
            text = canonical(o["type"], pv[o["name"]])
        elif os.path.exists(o["path"]):
            with open(o["path"], encoding="utf-8") as f:
                text = f.read()
            if o["type"] == "BOOLEAN":
                text = canonical("BOOLEAN", text)
            elif o["type"] != "STRING":
                try:
                    text = canonical(o["type"], json.loads(text))
                except ValueError:
                    pass
        else:
            fail("output parameter %s was not written" % o["name"])
        write(o["path"], enc(text))
    if c.get("outputArtifacts"):
        write_artifacts(c, out, uris)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
