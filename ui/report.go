package ui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/kfp-argo/kfp-argo/experiments"
)

// ReportRequest names what a report shows: runs by name, or an experiment's available runs.
type ReportRequest struct {
	Namespace  string
	Runs       []string
	Experiment string
}

// Report writes the run pages, and the compare view when there are 2 to 10 runs, as one HTML file with
// inline CSS and SVG: it loads nothing, so it can be attached to a ticket and opened offline.
func (s *Server) Report(ctx context.Context, w io.Writer, req ReportRequest) error {
	ns := req.Namespace
	if ns == "" {
		ns = s.cfg.Namespace
	}
	names := req.Runs
	if req.Experiment != "" {
		if _, err := s.experiment(ctx, ns, req.Experiment); err != nil {
			return err
		}
		runs, err := s.store(ns).ListRuns(ctx, experiments.RunFilter{Experiment: req.Experiment, StorageState: experiments.StorageAvailable})
		if err != nil {
			return err
		}
		// Oldest first, as `run compare -e` reads.
		sort.SliceStable(runs, func(i, j int) bool { return runs[i].CreatedAt.Before(runs[j].CreatedAt) })
		for _, r := range runs {
			names = append(names, r.Name)
		}
		if len(names) == 0 {
			return fmt.Errorf("report: experiment %q has no runs", req.Experiment)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("report: %w: name runs or an experiment", ErrBadRequest)
	}
	var details []RunDetail
	var views []RunView
	for _, n := range names {
		d, err := s.runDetail(ctx, ns, n)
		if err != nil {
			return err
		}
		v, err := newRunView(d, true)
		if err != nil {
			return err
		}
		details = append(details, d)
		views = append(views, v)
	}
	data := map[string]any{"Namespace": ns, "Runs": views, "Generated": s.cfg.Now().UTC().Format("2006-01-02 15:04:05Z")}
	data["Title"] = "kfp-argo report: " + names[0]
	if req.Experiment != "" {
		data["Title"] = "kfp-argo report: experiment " + req.Experiment
	}
	if len(details) >= 2 && len(details) <= maxCompare {
		c, err := newCompareView(details)
		if err != nil {
			return err
		}
		data["Compare"] = c
	}
	var buf bytes.Buffer
	if err := s.pages.execute(&buf, "report", data); err != nil {
		return err
	}
	_, err := buf.WriteTo(w)
	return err
}
