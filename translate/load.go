package translate

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// maxPipelineBytes bounds what Load reads from a file or archive member: the largest SDK-compiled specs are a
// few hundred KiB, and an archive must not be able to expand into gigabytes.
const maxPipelineBytes = 64 << 20

// errTooLarge is the one size limit of plain files, archives and their members (maxPipelineBytes).
const errTooLarge = limitError("pipeline file is larger than 64 MiB")

// limitError makes error values constants.
type limitError string

func (e limitError) Error() string { return string(e) }

// Pipeline is a loaded, checked pipeline spec.
type Pipeline struct {
	File     string        // name used in messages
	Spec     *PipelineSpec // the IR
	Platform *PlatformSpec // kfp-kubernetes document, nil when absent
	Digest   string        // "sha256:<hex>" of the pipeline file's bytes
}

// LoadFile reads a pipeline spec from a YAML or JSON file, or from a .zip / .tar.gz package holding one.
func LoadFile(name string) (*Pipeline, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	defer f.Close()
	data, err := readLimited(f)
	if err != nil {
		return nil, &Error{File: name, Err: err}
	}
	return Load(name, data)
}

// Load decodes and checks a pipeline spec. name is used in error messages only.
func Load(name string, data []byte) (*Pipeline, error) {
	if len(data) > maxPipelineBytes {
		return nil, &Error{File: name, Err: errTooLarge}
	}
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")) || bytes.HasPrefix(data, []byte("PK\x05\x06")):
		member, inner, err := fromZip(data)
		if err != nil {
			return nil, &Error{File: name, Err: err}
		}
		return Load(name+":"+member, inner)
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		member, inner, err := fromTarGz(data)
		if err != nil {
			return nil, &Error{File: name, Err: err}
		}
		return Load(name+":"+member, inner)
	}
	// The digest first: data is then no longer needed once its documents are parsed.
	sum := sha256.Sum256(data)
	p, err := decodeDocuments(data)
	if err != nil {
		return nil, inFile(name, err)
	}
	p.File = name
	p.Digest = "sha256:" + hex.EncodeToString(sum[:])
	if err := check(p); err != nil {
		return nil, inFile(name, err)
	}
	return p, nil
}

func isPipelineMember(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return !strings.HasPrefix(path.Base(name), ".")
	}
	return false
}

func fromZip(data []byte) (string, []byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", nil, fmt.Errorf("not a readable zip archive: %w", err)
	}
	var found *zip.File
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !isPipelineMember(f.Name) {
			continue
		}
		if found != nil {
			return "", nil, fmt.Errorf("zip archive holds more than one pipeline file (%s, %s): expected one", found.Name, f.Name)
		}
		found = f
	}
	if found == nil {
		return "", nil, errors.New("zip archive holds no pipeline file (.yaml, .yml or .json)")
	}
	rc, err := found.Open()
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", found.Name, err)
	}
	defer rc.Close()
	inner, err := readLimited(rc)
	return found.Name, inner, err
}

func fromTarGz(data []byte) (string, []byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return "", nil, fmt.Errorf("not a readable gzip file: %w", err)
	}
	tr := tar.NewReader(gz)
	var name string
	var inner []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("not a readable tar.gz archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg || !isPipelineMember(h.Name) {
			continue
		}
		if name != "" {
			return "", nil, fmt.Errorf("tar.gz archive holds more than one pipeline file (%s, %s): expected one", name, h.Name)
		}
		name = h.Name
		if inner, err = readLimited(tr); err != nil {
			return "", nil, err
		}
	}
	if name == "" {
		return "", nil, errors.New("tar.gz archive holds no pipeline file (.yaml, .yml or .json)")
	}
	return name, inner, nil
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPipelineBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPipelineBytes {
		return nil, errTooLarge
	}
	return data, nil
}

// decodeDocuments splits a YAML stream (JSON is YAML) into documents: one PipelineSpec and at most one
// kfp-kubernetes PlatformSpec, in either order.
func decodeDocuments(data []byte) (*Pipeline, error) {
	if !isText(data) {
		return nil, errors.New("not a pipeline spec: the file is binary, expected YAML or JSON")
	}
	reader := documentReader(data)
	p := &Pipeline{}
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		obj, err := yamlObject(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if obj == nil {
			continue // empty document, e.g. only comments
		}
		if _, ok := obj["platforms"]; ok {
			if p.Platform != nil {
				return nil, fmt.Errorf("document %d: a second platform spec document: expected at most one", doc)
			}
			p.Platform = &PlatformSpec{}
			if err := decodeStrict(obj, p.Platform, ""); err != nil {
				return nil, docError(doc, err)
			}
			continue
		}
		if p.Spec != nil {
			return nil, fmt.Errorf("document %d: a second pipeline spec document: expected one pipeline per file", doc)
		}
		p.Spec = &PipelineSpec{}
		if err := decodeStrict(obj, p.Spec, ""); err != nil {
			return nil, docError(doc, err)
		}
	}
	if p.Spec == nil {
		return nil, errors.New("not a pipeline spec: the file holds no YAML or JSON document")
	}
	return p, nil
}

// documentReader splits a YAML stream into documents as utilyaml.YAMLReader does. That reader copies every
// line into a growing buffer (up to twice the file's size, held while the document is parsed); where its line
// reading changes nothing (no carriage return, a final newline) the documents are taken as slices of data.
func documentReader(data []byte) interface{ Read() ([]byte, error) } {
	if bytes.IndexByte(data, '\r') >= 0 || (len(data) > 0 && data[len(data)-1] != '\n') {
		// utilyaml's line reader turns CRLF into LF and ends the last line with a newline.
		return utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	}
	return &documentSlicer{rest: data}
}

// documentSlicer is utilyaml.YAMLReader's Read on text of whole LF-terminated lines, without copying: a line
// starting with "---" ends the document before it (a document's first line may be one), and may be followed
// only by spaces and a comment.
type documentSlicer struct {
	rest []byte
}

func (s *documentSlicer) Read() ([]byte, error) {
	doc := s.rest[:0]
	for len(s.rest) > 0 {
		end := bytes.IndexByte(s.rest, '\n') + 1 // every line ends with a newline (documentReader)
		line := s.rest[:end]
		s.rest = s.rest[end:]
		if bytes.HasPrefix(line, []byte("---")) {
			if trimmed := strings.TrimSpace(string(line[3:])); trimmed != "" && trimmed[0] != '#' {
				return nil, fmt.Errorf("invalid Yaml document separator: %s", trimmed)
			}
			if len(doc) > 0 {
				return doc, nil
			}
		}
		doc = doc[:len(doc)+len(line)]
	}
	s.rest = nil // data is not held once the last document is returned
	if len(doc) > 0 {
		return doc, nil
	}
	return nil, io.EOF
}

// docError keeps the IR path of an error but says which document it is in when that is not the first.
func docError(doc int, err error) error {
	if doc == 1 {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Path = fmt.Sprintf("(document %d) %s", doc, e.Path)
		return &c
	}
	return fmt.Errorf("document %d: %w", doc, err)
}

func isText(data []byte) bool {
	probe := data
	if len(probe) > 8192 {
		probe = probe[:8192]
	}
	return !bytes.ContainsRune(probe, 0)
}
