# kfp-argo wrapper for lightweight Python components (see DESIGN.md, "Runtime contract"). It builds the
# ExecutorInput (the $ placeholder) from the contract and the input values Argo put in the environment, runs the component's
# own command unchanged, and after a zero exit splits the executor output file into the files Argo reads: one
# per output parameter, one metadata document per output artifact. A non-zero exit code is passed through.
import base64, json, os, re, shutil, signal, subprocess, sys

MARK = re.compile(r"%%kfpb64:([A-Za-z0-9+/=]*)%%")
NONE = "%%kfpb64:%%"
TOKEN = "%%kfpexec%%"
TOKENS = re.compile(r"%%kfpexec%%|%%kfplist:(.*?)%%")
METRICS = ("system.Metrics", "system.ClassificationMetrics", "system.SlicedClassificationMetrics")


def dec(s):
    return MARK.sub(lambda m: base64.b64decode(m.group(1)).decode("utf-8"), s)


def enc(s):
    # Inert when Argo would evaluate the text, when it looks like an inert value itself, and when it ends in a
    # newline, which argoexec trims from every output file it reads.
    if "{" + "{" in s or "%%kfp" in s or s.endswith("\n"):
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


def deep_dec(v):
    if isinstance(v, str):
        return dec(v)
    if isinstance(v, list):
        return [deep_dec(x) for x in v]
    if isinstance(v, dict):
        return {dec(k): deep_dec(x) for k, x in v.items()}
    return v


def parse_meta(raw):
    # A producer writes {"metadata": ..., "producer": pod, "uri": ...}, inert as a whole when it holds braces;
    # an importer's document is built by Argo expressions, with inert strings inside.
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = json.loads(dec(raw))
    doc = deep_dec(doc)
    return doc if isinstance(doc, dict) else {}


def mounted(uri, path, link):
    # KFP's executor reads and writes an artifact at the local mount of its URI (/s3/BUCKET/KEY for
    # s3://BUCKET/KEY), as KFP's launcher downloads it there. For an input (link) that path is made a link to
    # where Argo put the file; for an output its folder is made, and the wrapper moves the data to Argo's path
    # afterwards. Where the pod cannot write there, the component gets the local path as URI, as without a known
    # repository.
    local = local_path(uri or "")
    if not uri or local == uri:
        return path
    try:
        os.makedirs(os.path.dirname(local), exist_ok=True)
        if link:
            if os.path.lexists(local):
                os.remove(local)
            os.symlink(path, local)
    except OSError as e:
        sys.stderr.write("kfp-argo: %s: %s; the component gets the local path as URI\n" % (local, e))
        return path
    return uri


def docs_of(v):
    # Argo aggregates the documents of loop iterations into a JSON list: of objects, or of strings when some
    # item is not an object (a skipped iteration, an inert document); nested loops nest the lists.
    if isinstance(v, str):
        if v == NONE:
            return []
        try:
            v = json.loads(v)
        except ValueError:
            try:
                v = json.loads(dec(v))
            except ValueError:
                return []
    if isinstance(v, list):
        return [d for x in v for d in docs_of(x)]
    if isinstance(v, dict):
        return [deep_dec(v)]
    return []


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


# Where the KFP SDK reads and writes an artifact of a URI (Artifact.path): its mount folder for a remote URI.
MOUNTS = (("gs://", "/gcs/"), ("s3://", "/s3/"), ("minio://", "/minio/"))


def local_path(uri):
    for scheme, mount in MOUNTS:
        if uri.startswith(scheme):
            return mount + uri[len(scheme):]
    return uri


def gather(art, path, inputs):
    # The executor output says where an artifact's data is when the component put it elsewhere than the path it
    # was given: a custom path (Artifact.set_path), or the URI of an artifact it returned (-> Dataset, with
    # dsl.get_uri()). Move it to where Argo uploads from; data under the input folders is copied, not taken.
    src = art.get("custom_path") or local_path(art.get("uri") or "")
    if not src or os.path.abspath(src) == os.path.abspath(path) or not os.path.lexists(src):
        return
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    real = os.path.realpath(src)
    if real.startswith(os.path.realpath(inputs) + os.sep):
        # An input returned as an output (its URI's mount is a link to the input): a copy.
        if os.path.isdir(real):
            shutil.copytree(real, path)
        else:
            shutil.copy2(real, path)
    else:
        shutil.move(src, path)


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    c = json.loads(dec(os.environ["KFP_ARGO_CONTRACT"]))
    ei = c["executorInput"]
    inputs = {}
    values = {}
    for p in c.get("parameters", []):
        raw = os.environ.get(p["env"], NONE)
        if raw != NONE:
            values[p["name"]] = typed(p["type"], dec(raw), p["name"])
    if values:
        inputs["parameterValues"] = values
    arts = {}
    for a in c.get("artifacts", []):
        meta = os.environ.get(a["metaEnv"], NONE)
        if meta == NONE:
            continue
        if a.get("list"):
            # A collected list: one folder entry per producing pod, in the order of the metadata documents.
            items = []
            for doc in docs_of(meta):
                if doc.get("producer"):
                    items.append({
                        "name": a["name"], "uri": mounted(doc.get("uri"), os.path.join(a["path"], doc["producer"]), True),
                        "metadata": doc.get("metadata") or {},
                        "type": {"schemaTitle": a["schemaTitle"], "schemaVersion": a.get("schemaVersion", "")},
                    })
            arts[a["name"]] = {"artifacts": items}
            continue
        doc = parse_meta(meta)
        arts[a["name"]] = {"artifacts": [{
            "name": a["name"], "uri": mounted(doc.get("uri"), a["path"], True), "metadata": doc.get("metadata", {}),
            "type": {"schemaTitle": a["schemaTitle"], "schemaVersion": a.get("schemaVersion", "")},
        }]}
    if arts:
        inputs["artifacts"] = arts
    ei["inputs"] = inputs
    uris = {}
    for a in c.get("outputArtifacts", []):
        uris[a["name"]] = mounted(os.environ.get(a.get("uriEnv", ""), ""), a["path"], False)
        ei["outputs"]["artifacts"][a["name"]]["artifacts"][0]["uri"] = uris[a["name"]]
    for d in c.get("mkdirs", []):
        os.makedirs(d, exist_ok=True)
    executor_input = json.dumps(ei, ensure_ascii=False)

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

    child = subprocess.Popen(args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: child.send_signal(s))
    rc = child.wait()
    if rc < 0:
        rc = 128 - rc
    if rc != 0:
        sys.exit(rc)

    out = {}
    eo = c["executorOutputFile"]
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
    produced = out.get("artifacts", {})
    for a in c.get("outputArtifacts", []):
        listed = produced.get(a["name"], {}).get("artifacts", [])
        if listed:
            gather(listed[0], a["path"], c["inputsRoot"])
        meta = (listed[0].get("metadata") if listed else None) or {}
        uri = uris[a["name"]] if uris[a["name"]] != a["path"] else ""
        doc = {"metadata": meta, "schemaTitle": a["schemaTitle"], "producer": os.environ.get("KFP_ARGO_POD", ""), "uri": uri}
        write(a["metaPath"], enc(json.dumps(doc, separators=(",", ":"), ensure_ascii=False)))
        if a["schemaTitle"] in METRICS and not os.path.exists(a["path"]):
            write(a["path"], json.dumps(meta, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
