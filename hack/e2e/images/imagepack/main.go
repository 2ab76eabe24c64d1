// Command imagepack turns a root file system directory into a single-layer
// image tarball (docker-archive format, as `docker save` writes it) carrying
// several names, so that `ctr images import` registers the image under every
// name at once and no registry is ever needed.
//
//	imagepack -rootfs DIR -out FILE.tar -tag NAME [-tag NAME ...] \
//	  [-entrypoint '["argoexec"]'] [-cmd '["/bin/sh"]'] [-env K=V ...] [-workdir /]
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

type options struct {
	rootfs, out, workdir, user string
	entrypoint, cmd            string
	tags, env                  list
}

func main() {
	var o options
	flag.StringVar(&o.rootfs, "rootfs", "", "root file system directory")
	flag.StringVar(&o.out, "out", "", "image tarball to write")
	flag.StringVar(&o.workdir, "workdir", "", "working directory of the image")
	flag.StringVar(&o.user, "user", "", "user of the image")
	flag.StringVar(&o.entrypoint, "entrypoint", "", "entrypoint as a JSON array")
	flag.StringVar(&o.cmd, "cmd", "", "command as a JSON array")
	flag.Var(&o.tags, "tag", "image name (repeatable)")
	flag.Var(&o.env, "env", "KEY=VALUE of the image's environment (repeatable)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "imagepack: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.rootfs == "" || o.out == "" || len(o.tags) == 0 {
		return errors.New("-rootfs, -out and at least one -tag are required")
	}
	refs := map[name.Tag]v1.Image{}
	var tags []name.Tag
	for _, t := range o.tags {
		tag, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			// StrictValidation rejects names without a tag ("alpine");
			// containerd normalises those to :latest, so do we.
			if tag, err = name.NewTag(t); err != nil {
				return fmt.Errorf("tag %q: %w", t, err)
			}
		}
		tags = append(tags, tag)
	}
	cfg := v1.Config{Env: o.env, WorkingDir: o.workdir, User: o.user}
	var err error
	if cfg.Entrypoint, err = jsonList(o.entrypoint); err != nil {
		return fmt.Errorf("-entrypoint: %w", err)
	}
	if cfg.Cmd, err = jsonList(o.cmd); err != nil {
		return fmt.Errorf("-cmd: %w", err)
	}

	layerFile := o.out + ".layer.tar.gz"
	defer os.Remove(layerFile)
	if err := writeLayer(o.rootfs, layerFile); err != nil {
		return fmt.Errorf("layer of %s: %w", o.rootfs, err)
	}
	layer, err := tarball.LayerFromFile(layerFile)
	if err != nil {
		return fmt.Errorf("layer %s: %w", layerFile, err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Config = cfg
	// A fixed creation time keeps the image ID a function of its content.
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	for _, t := range tags {
		refs[t] = img
	}
	tmp := o.out + ".tmp"
	if err := tarball.MultiWriteToFile(tmp, refs); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, o.out)
}

func jsonList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("%q is not a JSON list of strings: %w", s, err)
	}
	return l, nil
}

// writeLayer writes the directory as a gzipped tar with owners, modes,
// symlinks and hard links preserved. /dev, /proc and /sys are kept as empty
// directories: the runtime mounts them, and device nodes in a layer would only
// fail to unpack.
func writeLayer(root, out string) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	gz, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(gz)
	links := map[[2]uint64]string{}
	var paths []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		paths = append(paths, rel)
		switch rel {
		case "dev", "proc", "sys":
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, rel := range paths {
		if err := addEntry(tw, root, rel, links); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addEntry(tw *tar.Writer, root, rel string, links map[[2]uint64]string) error {
	p := filepath.Join(root, rel)
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.Mode()&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 {
		return nil
	}
	target := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, target)
	if err != nil {
		return err
	}
	hdr.Name = filepath.ToSlash(rel)
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uname, hdr.Gname = "", ""
	hdr.Format = tar.FormatPAX
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && fi.Mode().IsRegular() && st.Nlink > 1 {
		id := [2]uint64{st.Dev, st.Ino}
		if first, seen := links[id]; seen {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return tw.WriteHeader(hdr)
		}
		links[id] = hdr.Name
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = io.Copy(tw, src)
	return err
}
