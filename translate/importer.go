package translate

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// importerTask is an importer compiled away: it runs no pod (kfp-argo adds no image of its own); each consumer
// receives the artifact straight from its location, with the importer's metadata.
type importerTask struct {
	location wfv1.ArtifactLocation
	metadata string // the metadata document consumers get, as Argo text in the DAG's scope
	// image is set for an OCI model car (oci://REF): the Argo text of REF. Consumers get the model files from
	// the image itself, copied by an init container, as KServe and KFP do with model cars.
	image string
}

func (c *compiler) importer(sc scope, t *TaskSpec, comp *ComponentSpec, tp string) (*importerTask, error) {
	ep := fmt.Sprintf("deploymentSpec.executors[%q].importer", comp.ExecutorLabel)
	spec := c.s.DeploymentSpec.Executors[comp.ExecutorLabel].Importer
	if spec.DownloadToWorkspace && c.workspace() == nil {
		return nil, pathErrorf(ep+".downloadToWorkspace", "the pipeline has no workspace (PipelineConfig workspace) to download into")
	}
	imp := &importerTask{}
	// inputExpr gives an expr-lang reference to one of the importer task's inputs in the DAG's scope.
	inputExpr := func(name, path string) (string, string, error) {
		if t.Inputs == nil || t.Inputs.Parameters[name] == nil {
			return "", "", pathErrorf(path, "the importer task has no input %q", name)
		}
		ip := t.Inputs.Parameters[name]
		switch {
		case ip.ComponentInputParameter != "":
			ref, ok := sc.inputs[ip.ComponentInputParameter]
			if !ok {
				return "", "", pathErrorf(path, "input %q is not given", ip.ComponentInputParameter)
			}
			scopeName, arg, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(ref, "{{"), "}}"), ".parameters.")
			return fmt.Sprintf("%s.parameters[%s]", scopeName, exprString(arg)), ref, nil
		case ip.TaskOutputParameter != nil:
			p, k := fieldName(ip.TaskOutputParameter.ProducerTask), paramName(ip.TaskOutputParameter.OutputParameterKey)
			return fmt.Sprintf("tasks[%s].outputs.parameters[%s]", exprString(p), exprString(k)), fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", p, k), nil
		case ip.RuntimeValue != nil:
			s, ok := ip.RuntimeValue.Constant.(string)
			if !ok || strings.Contains(s, "{{") {
				return "", "", pathErrorf(path, "expected a plain string constant")
			}
			return exprString(s), s, nil
		}
		return "", "", pathErrorf(path, "unsupported input source")
	}

	uriPath := ep + ".artifactUri"
	uriConst, constPath := spec.ArtifactURI.Constant, uriPath+".constant"
	if n := spec.ArtifactURI.RuntimeParameter; n != "" && t.Inputs != nil && t.Inputs.Parameters[n] != nil && t.Inputs.Parameters[n].RuntimeValue != nil {
		// dsl.importer(artifact_uri="s3://...") with a literal: the SDK passes it as a task constant, whole.
		if s, ok := t.Inputs.Parameters[n].RuntimeValue.Constant.(string); ok {
			uriConst, constPath = s, fmt.Sprintf("%s.inputs.parameters[%q].runtimeValue.constant", tp, n)
		}
	}
	switch {
	case uriConst != nil:
		s, ok := uriConst.(string)
		if !ok {
			return nil, pathErrorf(constPath, "expected a string URI, got %s", jsonKind(uriConst))
		}
		if s == "" {
			// An artifact known by its metadata only (a Vertex AI resource: resourceName): no data, so consumers
			// get an empty file, and the metadata document.
			if len(spec.Metadata) == 0 {
				return nil, pathErrorf(constPath, "an importer with an empty URI needs metadata that names the artifact (e.g. resourceName)")
			}
			imp.location = wfv1.ArtifactLocation{Raw: &wfv1.RawArtifact{}}
			break
		}
		if ref, ok := strings.CutPrefix(s, "oci://"); ok {
			if ref == "" || strings.Contains(ref, "{{") {
				return nil, pathErrorf(constPath, "invalid OCI reference %q", s)
			}
			imp.image = ref
			break
		}
		loc, err := constantLocation(s)
		if err == nil && loc.S3 != nil {
			err = c.store.s3Location(loc.S3, true)
		}
		if err != nil {
			return nil, &Error{Path: constPath, Err: err}
		}
		imp.location = loc
	default:
		name := spec.ArtifactURI.RuntimeParameter
		expr, _, err := inputExpr(name, fmt.Sprintf("%s.inputs.parameters[%q]", tp, name))
		if err != nil {
			return nil, err
		}
		known, computed := strings.CutPrefix(c.knownValue(sc, t, name), computedURI)
		if known == "" && c.store != nil {
			// The user named the repository: a URI whose scheme is not known is taken to be in it, like a URI
			// a task computes.
			known, computed = c.store.scheme+"://", true
		}
		if known == "" {
			return nil, pathErrorf(uriPath+".runtimeParameter", "the URI's scheme must be known when compiling (it picks the kind of Argo artifact location): give the pipeline input that input %q comes from a default or a value (-p NAME=SCHEME://BUCKET/KEY), or give --artifact-store SCHEME://BUCKET when the URI is in the artifact repository", name)
		}
		if known == "oci://" {
			imp.image = fmt.Sprintf("{{=sprig.trimPrefix('oci://', %s)}}", expr)
			break
		}
		loc, err := runtimeLocation(known+"bucket/key", expr)
		if err == nil && loc.S3 != nil {
			// A URI a task computes names an artifact of this workflow (an artifact's .uri): it is in the
			// repository's bucket, which Argo fills in. Any other bucket known only at run time needs the
			// endpoint and credentials.
			if !computed || (c.store != nil && c.store.s3 != nil) {
				err = c.store.s3Location(loc.S3, false)
			}
		}
		if err != nil {
			return nil, &Error{Path: uriPath + ".runtimeParameter", Err: err}
		}
		imp.location = loc
	}

	meta, dynamic, err := c.metadataExpr(spec.Metadata, func(name string) (string, error) {
		e, _, err := inputExpr(name, ep+".metadata")
		return e, err
	})
	if err != nil {
		return nil, pathErrorf(ep+".metadata", "%v", err)
	}
	// The document carries the URI too: components see it as the artifact's .uri (a model car has its files,
	// not a URI, in the pod).
	uri := ""
	switch {
	case imp.image != "":
	case uriConst != nil:
		uri = exprString(inert(uriConst.(string)))
	default:
		uri, _, _ = inputExpr(spec.ArtifactURI.RuntimeParameter, uriPath)
		dynamic = true
	}
	switch {
	case dynamic && uri != "":
		imp.metadata = "{{=toJson(sprig.dict('metadata', " + meta + ", 'uri', " + uri + "))}}"
	case dynamic:
		imp.metadata = "{{=toJson(sprig.dict('metadata', " + meta + "))}}"
	default:
		doc := map[string]any{"metadata": inertAll(spec.Metadata)}
		if imp.image == "" {
			doc["uri"] = inert(uriConst.(string))
		}
		text, err := compactJSON(doc)
		if err != nil {
			return nil, err
		}
		imp.metadata = inert(text)
	}
	return imp, nil
}

// computedURI marks, in the known schemes, a URI that a task of the workflow computes.
const computedURI = "computed:"

// knownValue is the URI scheme of an importer input when it is known at compile time, as "scheme://"; a URI
// computed by a task has the computedURI prefix.
func (c *compiler) knownValue(sc scope, t *TaskSpec, name string) string {
	return c.knownSchemes(sc, t)[name]
}

// knownSchemes gives, for the task's string inputs whose value is known when compiling (a constant, a root
// input's default or -p value, or such a value passed down into a sub-pipeline), the URI scheme of that value.
func (c *compiler) knownSchemes(sc scope, t *TaskSpec) map[string]string {
	out := map[string]string{}
	if t.Inputs == nil {
		return out
	}
	for name, ip := range t.Inputs.Parameters {
		var v string
		switch {
		case ip.RuntimeValue != nil:
			v, _ = ip.RuntimeValue.Constant.(string)
		case ip.ComponentInputParameter != "" && sc.path == "root":
			if o, ok := c.opts.Parameters[ip.ComponentInputParameter]; ok {
				v, _ = o.(string)
			} else if def := inputParam(c.s.Root, ip.ComponentInputParameter); def != nil {
				v, _ = def.DefaultValue.(string)
			}
		case ip.ComponentInputParameter != "":
			v = sc.schemes[ip.ComponentInputParameter]
		case ip.TaskOutputParameter != nil:
			// A URI a task computes is never known when compiling: it is taken to be in the pipeline root's
			// store (KFP's default root is minio://, an S3 store), marked as computed.
			v = computedURI + c.pipelineRootScheme()
		}
		if scheme, _, ok := strings.Cut(v, "://"); ok && scheme != "" {
			out[name] = scheme + "://"
		}
	}
	return out
}

// constantLocation maps a URI to an Argo artifact location.
func constantLocation(uri string) (wfv1.ArtifactLocation, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return wfv1.ArtifactLocation{}, fmt.Errorf("invalid URI %q: %v", uri, err)
	}
	key := strings.TrimPrefix(u.Path, "/")
	// Bucket and key are the decoded URI (%7B%7B is "{{" there): Argo reads them as they are.
	for _, part := range []string{uri, u.Host, key} {
		if strings.Contains(part, "{{") {
			return wfv1.ArtifactLocation{}, fmt.Errorf("URI %q: Argo would evaluate the \"{{\" in it, and an artifact location cannot be decoded: remove the braces", uri)
		}
	}
	switch u.Scheme {
	case "gs":
		return wfv1.ArtifactLocation{GCS: &wfv1.GCSArtifact{GCSBucket: wfv1.GCSBucket{Bucket: u.Host}, Key: key}}, nil
	case "s3", "minio":
		return wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{S3Bucket: wfv1.S3Bucket{Bucket: u.Host}, Key: key}}, nil
	case "http", "https":
		return wfv1.ArtifactLocation{HTTP: &wfv1.HTTPArtifact{URL: uri}}, nil
	}
	return wfv1.ArtifactLocation{}, fmt.Errorf("URI %q: scheme %q is not supported (gs, s3, minio, http, https)", uri, u.Scheme)
}

// runtimeLocation builds a location whose bucket and key Argo computes from the URI at run time; the scheme,
// which picks the kind of location, comes from the value known now.
func runtimeLocation(known, expr string) (wfv1.ArtifactLocation, error) {
	loc, err := constantLocation(known)
	if err != nil {
		return loc, err
	}
	// Out-of-range parts give "-" rather than an expression error: Argo's validator evaluates these with
	// placeholder values, and at run time a malformed URI then fails with a readable location.
	bucket := fmt.Sprintf("{{=sprig.default('-', get(sprig.splitList('/', %s), 2))}}", expr)
	key := fmt.Sprintf("{{=sprig.default('-', sprig.join('/', sprig.rest(sprig.rest(sprig.rest(sprig.splitList('/', %s))))))}}", expr)
	switch {
	case loc.GCS != nil:
		loc.GCS.Bucket, loc.GCS.Key = bucket, key
	case loc.S3 != nil:
		loc.S3.Bucket, loc.S3.Key = bucket, key
	case loc.HTTP != nil:
		loc.HTTP.URL = "{{=" + expr + "}}"
	}
	return loc, nil
}

// metadataExpr renders importer metadata as an expr-lang value; dynamic reports whether any placeholder occurs.
// Literal text is made inert first, so Argo cannot evaluate it in the consumer.
func (c *compiler) metadataExpr(v any, input func(name string) (string, error)) (string, bool, error) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{$") {
			return exprString(inert(x)), false, nil
		}
		var parts []string
		rest := x
		for {
			i := strings.Index(rest, "{{$")
			j := strings.Index(rest[max(i, 0):], "}}")
			if i < 0 || j < 0 {
				break
			}
			raw := rest[i : i+j+2]
			ph, ok := parsePlaceholder(raw[2 : len(raw)-2])
			if !ok || ph.io != "inputs" || ph.kind != "parameters" || ph.attr != "" {
				return "", false, fmt.Errorf("placeholder %s cannot be used in importer metadata", raw)
			}
			ref, err := input(ph.name)
			if err != nil {
				return "", false, err
			}
			if rest[:i] != "" {
				parts = append(parts, exprString(inert(rest[:i])))
			}
			parts = append(parts, ref)
			rest = rest[i+j+2:]
		}
		if rest != "" {
			parts = append(parts, exprString(inert(rest)))
		}
		return "(" + strings.Join(parts, " + ") + ")", true, nil
	case []any:
		var items []string
		dynamic := false
		for _, e := range x {
			s, d, err := c.metadataExpr(e, input)
			if err != nil {
				return "", false, err
			}
			items = append(items, s)
			dynamic = dynamic || d
		}
		return "sprig.list(" + strings.Join(items, ", ") + ")", dynamic, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var items []string
		dynamic := false
		for _, k := range keys {
			ks, d1, err := c.metadataExpr(k, input)
			if err != nil {
				return "", false, err
			}
			vs, d2, err := c.metadataExpr(x[k], input)
			if err != nil {
				return "", false, err
			}
			items = append(items, ks, vs)
			dynamic = dynamic || d1 || d2
		}
		return "sprig.dict(" + strings.Join(items, ", ") + ")", dynamic, nil
	case nil:
		return "nil", false, nil
	case bool:
		return strconv.FormatBool(x), false, nil
	}
	text, err := compactJSON(v)
	return text, false, err
}

// exprString quotes text as an expr-lang string literal that contains no braces, so that it can sit inside an
// Argo {{= }} tag.
func exprString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '{' || r == '}' || r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// inertAll makes every string in a JSON value inert.
func inertAll(v any) any {
	switch x := v.(type) {
	case string:
		return inert(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = inertAll(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[inert(k)] = inertAll(e)
		}
		return out
	}
	return v
}

// pipelineRootScheme is the scheme of the pipeline root, as "scheme://": the IR's defaultPipelineRoot, or
// KFP's default root (minio://mlpipeline/v2/artifacts).
func (c *compiler) pipelineRootScheme() string {
	if scheme, _, ok := strings.Cut(c.s.DefaultPipelineRoot, "://"); ok && scheme != "" {
		return scheme + "://"
	}
	return "minio://"
}
