# kfp-argo wrapper, artifact half: the compiler puts it before wrapper.py in the same program when a Python
# component of the workflow has input or output artifacts; wrapper.py's main calls input_artifacts,
# output_artifacts and write_artifacts only for a contract that lists artifacts. Names of wrapper.py (dec, NONE,
# fail, write) resolve when these functions run, after both halves are defined.
import json, os, shutil, sys

METRICS = ("system.Metrics", "system.ClassificationMetrics", "system.SlicedClassificationMetrics")


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


def input_artifacts(c):
    arts = {}
    for i, a in enumerate(c["artifacts"]):
        meta = os.environ.get("KFP_ARGO_AM_%d" % i, NONE)
        if meta == NONE:
            continue
        kind = {"schemaTitle": a["schemaTitle"], "schemaVersion": a.get("schemaVersion", "")}
        if a.get("list"):
            # A collected list: one folder entry per producing pod, in the order of the metadata documents.
            items = []
            for doc in docs_of(meta):
                if doc.get("producer"):
                    items.append({
                        "name": a["name"], "uri": mounted(doc.get("uri"), os.path.join(a["path"], doc["producer"]), True),
                        "metadata": doc.get("metadata") or {}, "type": kind,
                    })
            arts[a["name"]] = {"artifacts": items}
            continue
        doc = parse_meta(meta)
        arts[a["name"]] = {"artifacts": [{
            "name": a["name"], "uri": mounted(doc.get("uri"), a["path"], True), "metadata": doc.get("metadata", {}),
            "type": kind,
        }]}
    return arts


def output_artifacts(c, outs, dirs):
    # Each output artifact's entry in the ExecutorInput, its folders, and the URI the component is given.
    uris = {}
    outs["artifacts"] = {}
    for a in c["outputArtifacts"]:
        uri = uris[a["name"]] = mounted(os.environ.get(a.get("uriEnv", ""), ""), a["path"], False)
        outs["artifacts"][a["name"]] = {"artifacts": [{
            "name": a["name"], "uri": uri, "metadata": {},
            "type": {"schemaTitle": a["schemaTitle"], "schemaVersion": a.get("schemaVersion", "")},
        }]}
        dirs.add(os.path.dirname(a["path"]))
        dirs.add(os.path.dirname(a["metaPath"]))
    return uris


def write_artifacts(c, out, uris):
    # After a zero exit: each output artifact's data where Argo uploads from, and its metadata document.
    produced = out.get("artifacts", {})
    for a in c["outputArtifacts"]:
        listed = produced.get(a["name"], {}).get("artifacts", [])
        if listed:
            gather(listed[0], a["path"], c["root"] + "/artifacts/in/")
        meta = (listed[0].get("metadata") if listed else None) or {}
        uri = uris[a["name"]] if uris[a["name"]] != a["path"] else ""
        doc = {"metadata": meta, "schemaTitle": a["schemaTitle"], "producer": os.environ.get("KFP_ARGO_POD", ""), "uri": uri}
        write(a["metaPath"], enc(json.dumps(doc, separators=(",", ":"), ensure_ascii=False)))
        if a["schemaTitle"] in METRICS and not os.path.exists(a["path"]):
            write(a["path"], json.dumps(meta, ensure_ascii=False))
