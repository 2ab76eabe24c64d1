package translate

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kfp-argo/kfp-argo/argo"
)

// corpusDir is KFP's public test data, shared beside the repository (not copied into it).
const corpusDir = "../../shared/kfp-ir"

func corpusFiles(t *testing.T, sub string) []string {
	t.Helper()
	dir := filepath.Join(corpusDir, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (it lives in ../shared/kfp-ir beside the repository): %v", dir, err)
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// cannotRun lists corpus files that use an IR feature kfp-argo can never map onto Argo, with the reason; they
// must fail with ErrUnsupported and this reason in the message.
var cannotRun = map[string]string{}

// corpusOptions supplies what a user must: a location for every required pipeline input artifact.
func corpusOptions(p *Pipeline) Options {
	opts := Options{InputArtifacts: map[string]string{}}
	if in := p.Spec.Root.InputDefinitions; in != nil {
		for name, def := range in.Artifacts {
			if !def.IsOptional {
				opts.InputArtifacts[name] = "gs://kfp-argo-corpus/inputs/" + name
			}
		}
	}
	return opts
}

// TestCorpus compiles every file of the corpus: each must compile and pass Argo's validator (as a Workflow,
// WorkflowTemplate and CronWorkflow), except the files in cannotRun, which must fail with ErrUnsupported and
// their reason.
func TestCorpus(t *testing.T) {
	files := corpusFiles(t, "valid")
	var compiled, unsupportedN int
	for _, f := range files {
		rel, _ := filepath.Rel(corpusDir, f)
		p, err := LoadFile(f)
		if err != nil {
			t.Errorf("%s: load: %v", rel, err)
			continue
		}
		wf, err := Compile(p, corpusOptions(p))
		if err == nil {
			err = argo.ValidateWorkflow(wf)
			if err == nil {
				// The other output kinds of the same pipeline must pass Argo's validator for their kind too.
				wt, _ := ToWorkflowTemplate(wf)
				err = argo.ValidateWorkflowTemplate(wt)
			}
			if err == nil {
				cron, cerr := ToCronWorkflow(wf, CronOptions{Schedules: []string{"0 3 * * *"}})
				switch {
				case cerr == nil:
					err = argo.ValidateCronWorkflow(cron)
				case !strings.Contains(cerr.Error(), "needs a value for every pipeline input"):
					err = cerr
				}
			}
			if err != nil {
				t.Errorf("%s: compiled but invalid: %v", rel, err)
				continue
			}
			compiled++
			t.Logf("%-75s compiled+valid", rel)
			continue
		}
		if reason, ok := cannotRun[rel]; ok && errors.Is(err, ErrUnsupported) && strings.Contains(err.Error(), reason) {
			unsupportedN++
			t.Logf("%-75s cannot run on Argo: %v", rel, err)
			continue
		}
		t.Errorf("%s: %v", rel, err)
	}
	t.Logf("corpus: %d files, %d compiled and valid, %d cannot run on Argo", len(files), compiled, unsupportedN)
}

// TestCorpusInvalid: every broken or non-pipeline file gets an error that names the file.
func TestCorpusInvalid(t *testing.T) {
	for _, f := range corpusFiles(t, "invalid") {
		_, err := LoadFile(f)
		if err == nil {
			t.Errorf("%s: loaded without error", f)
			continue
		}
		if !strings.HasPrefix(err.Error(), f) {
			t.Errorf("%s: error does not name the file: %v", f, err)
		}
		t.Logf("%s: %v", filepath.Base(f), err)
	}
}
