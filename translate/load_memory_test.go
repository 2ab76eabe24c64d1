package translate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kfp-argo/kfp-argo/translate/synthir"
)

// TestDocumentSlicerIsYAMLReader: the copy-free document split gives utilyaml.YAMLReader's documents and
// errors, in the same order, on every stream it is used for (whole LF-terminated lines).
func TestDocumentSlicerIsYAMLReader(t *testing.T) {
	streams := []string{
		"",
		"\n",
		"a: 1\n",
		"---\na: 1\n",
		"--- # first\na: 1\n---\nb: 2\n",
		"a: 1\n---\n---\n\n---   \nb: 2\n---\n",
		"a: 1\n---x\nb: 2\n",
		"a: 1\n---\nb: 2\n----\nc: 3\n",
		"a: |\n  ---\n  text\n---\n# only a comment\n",
		"a: 1\n--- b: 2\n",
		" ---\na: '---'\n",
		"{\"a\": [1, 2]}\n",
		strings.Repeat("k: "+strings.Repeat("v", 70000)+"\n", 2), // lines longer than bufio's buffer
	}
	for _, s := range streams {
		data := []byte(s)
		want := readAll(utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data))))
		r := documentReader(data)
		if _, ok := r.(*documentSlicer); !ok {
			t.Fatalf("%q: documentReader did not slice", s)
		}
		if got := readAll(r); !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %q\nwant %q", s, got, want)
		}
	}
	// Where utilyaml's line reader would change the text, it is used as it is.
	for _, s := range []string{"a: 1\r\nb: 2\r\n", "a: 1\nb: 2"} {
		if _, ok := documentReader([]byte(s)).(*utilyaml.YAMLReader); !ok {
			t.Errorf("%q: want utilyaml's reader", s)
		}
	}
}

// readAll lists a reader's documents and its final error (other than io.EOF) as text.
func readAll(r interface{ Read() ([]byte, error) }) []string {
	var out []string
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			return append(out, "error: "+err.Error())
		}
		out = append(out, string(doc))
	}
}

// TestNodeValueReleasesTheTree: converted nodes are dropped from the tree, anchored ones are kept, and every
// alias still gets the anchor's whole value.
func TestNodeValueReleasesTheTree(t *testing.T) {
	src := "base: &b {x: [1, {y: 2}], z: s}\nlist: [*b, *b]\nnested: {inner: *b, plain: [3, 4]}\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	anchor := root.Content[1]
	budget := maxAliasExpansions
	v, err := nodeValue(root, &budget, false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(v)
	b := `{"x":[1,{"y":2}],"z":"s"}`
	if want := `{"base":` + b + `,"list":[` + b + `,` + b + `],"nested":{"inner":` + b + `,"plain":[3,4]}}`; string(got) != want {
		t.Errorf("value %s, want %s", got, want)
	}
	for i, c := range root.Content {
		if c != nil {
			t.Errorf("root child %d is still held", i)
		}
	}
	if anchor.Content[3] == nil || anchor.Content[1].Content[1].Content[1] == nil {
		t.Error("the anchored mapping lost its children")
	}
}

// TestDecodeStrictConsumesItsInput: decoded values leave the generic tree; values kept as they are (fields of
// type any) are the same values.
func TestDecodeStrictConsumesItsInput(t *testing.T) {
	obj, err := yamlObject([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	params := obj["root"].(map[string]any)["inputDefinitions"].(map[string]any)["parameters"].(map[string]any)
	command := obj["deploymentSpec"].(map[string]any)["executors"].(map[string]any)["exec-a"].(map[string]any)["container"].(map[string]any)["command"].([]any)
	spec := &PipelineSpec{}
	if err := decodeStrict(obj, spec, ""); err != nil {
		t.Fatal(err)
	}
	if len(obj) != 0 || len(params) != 0 {
		t.Errorf("left in the generic tree: %v, parameters %v", obj, params)
	}
	for i, c := range command {
		if c != nil {
			t.Errorf("command[%d] still held", i)
		}
	}
	if got := spec.Root.InputDefinitions.Parameters["lr"].DefaultValue; got != json.Number("0.1") {
		t.Errorf("default %#v", got)
	}
	if got := spec.DeploymentSpec.Executors["exec-a"].Container.Command; len(got) != 3 || got[0] != "echo" {
		t.Errorf("command %q", got)
	}
}

// TestSectionsReadAsTheWholeDocument: reading a document entry by entry gives what reading it whole gives, the
// same values or the same error, on the fixtures, the corpus, a synthetic pipeline and documents made to
// defeat the cuts.
func TestSectionsReadAsTheWholeDocument(t *testing.T) {
	docs := map[string]string{
		"flow list across a cut":    "a: [1,\nb: 2]\nc: 3\n",
		"flow map across a cut":     "a: {x: 1,\nb: 2}\n",
		"quoted across a cut":       "a: 'one\nb: two'\nc: 3\n",
		"double-quoted across":      "a: \"one\nb: two\"\n",
		"plain text then a key":     "a: one\nb: two\n",
		"indented continuation":     "a: one\n  two\nb: |\n  text\n  more\nc: >-\n  folded\n",
		"block text then a key":     "a: |\nb: 2\n",
		"anchor used in a later":    "a: &x {y: 1}\nb: *x\n",
		"anchor used in the same":   "a: {p: &x 1, q: *x}\nb: 2\n",
		"repeated top-level key":    "a: 1\nb: 2\na: 3\n",
		"compact list":              "a:\n- 1\n- x: 2\n  y: 3\nb:\n-\n  - 4\n",
		"comments between":          "# head\na: 1\n# middle\n\nb: 2 # tail\n",
		"explicit start":            "--- # doc\na: 1\nb: 2\n",
		"null and bool keys":        "null: 1\ntrue: 2\non: 3\n",
		"empty values":              "a:\nb:\nc: ~\n",
		"merge key":                 "a: &x {y: 1}\n<<: *x\n",
		"tag at the top":            "a: 1\nb: !custom 2\n",
		"bad indentation after":     "a: 1\n b: 2\nc: 3\n",
		"a scalar document":         "just text\n",
		"a list document":           "- a: 1\n- b: 2\n",
		"no final newline":          "a: 1\nb: 2",
		"alias bomb across entries": "a0: &a [x, x, x, x, x, x, x, x, x, x]\na1: [*a, *a]\n",
		"key with tab":              "a:\t1\nb: 2\n",
		"directive":                 "%YAML 1.2\n---\na: 1\nb: 2\n",
	}
	fixtures, err := filepath.Glob(filepath.Join("..", "testdata", "pipelines", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(fixtures, corpusFiles(t, "valid")...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := documentReader(data)
		for i := 1; ; i++ {
			doc, err := r.Read()
			if err != nil {
				break
			}
			docs[fmt.Sprintf("%s document %d", f, i)] = string(doc)
		}
	}
	docs["synthetic"] = string(synthir.Generate(300, 1))
	cut := 0
	for name, doc := range docs {
		want, wantErr := documentObject([]byte(doc))
		got, gotErr := yamlObject([]byte(doc))
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v, %v\nwant %v, %v", name, got, gotErr, want, wantErr)
		}
		if len(topLevelSections([]byte(doc))) > 1 {
			cut++
		}
	}
	if cut < len(docs)/2 {
		t.Errorf("only %d of %d documents were read entry by entry", cut, len(docs))
	}
}
