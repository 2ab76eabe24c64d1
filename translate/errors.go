package translate

import (
	"errors"
	"fmt"
)

// ErrUnsupported marks IR features that kfp-argo does not compile (yet). Test with errors.Is.
var ErrUnsupported = errors.New("not supported")

// Error is a problem with a pipeline file, located by file name and IR path.
type Error struct {
	File string // the file as the user named it (with the member name for archives)
	Path string // IR path such as root.dag.tasks["train"].inputs.parameters["lr"]; empty for the whole file
	Err  error
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Path != "":
		return fmt.Sprintf("%s: %s: %v", e.File, e.Path, e.Err)
	case e.File != "":
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Path != "":
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func pathErrorf(path, format string, args ...any) error {
	return &Error{Path: path, Err: fmt.Errorf(format, args...)}
}

// unsupported reports an IR feature that the compiler does not handle; it is never dropped silently.
func unsupported(path, feature string) error {
	return &Error{Path: path, Err: fmt.Errorf("%s: %w by kfp-argo yet", feature, ErrUnsupported)}
}

// inFile attaches the file name to an error from decoding or compiling.
func inFile(file string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e.File == "" {
		c := *e
		c.File = file
		return &c
	}
	if errors.As(err, &e) {
		return err
	}
	return &Error{File: file, Err: err}
}

// withPath locates err at path: an *Error gets the more precise path, anything else is wrapped.
func withPath(path string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Path = path
		return &c
	}
	return &Error{Path: path, Err: err}
}
