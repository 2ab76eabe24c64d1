package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// State is what a detached cluster (make dev-cluster) records so that
// another process can stop it later, by PID only.
type State struct {
	Kubeconfig string        `json:"kubeconfig"`
	Namespace  string        `json:"namespace"`
	WorkDir    string        `json:"workDir"`
	DataDir    string        `json:"dataDir"`
	Processes  []ProcessInfo `json:"processes"`
	// NodeDir and NodeCgroup (real pods only) are what teardown unmounts
	// and empties once containerd is stopped.
	NodeDir    string `json:"nodeDir,omitempty"`
	NodeCgroup string `json:"nodeCgroup,omitempty"`
}

// State describes the running cluster.
func (c *Cluster) State() State {
	s := State{
		Kubeconfig: c.kubeconfig,
		Namespace:  c.opts.Namespace,
		WorkDir:    c.workDir,
		DataDir:    c.dataDir,
		Processes:  c.Processes(),
	}
	if c.node != nil {
		s.NodeDir, s.NodeCgroup = c.node.dir, c.node.cgroup
	}
	return s
}

// WriteState writes s as JSON to path.
func WriteState(path string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadState reads a state file written by WriteState.
func ReadState(path string) (State, error) {
	var s State
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

// StopState stops every recorded process, last started first, each by its
// recorded PID and only if that PID still runs the recorded binary, then
// removes the etcd data directory. It returns the processes it found alive.
func StopState(s State) (stopped []ProcessInfo, err error) {
	var errs []error
	for i := len(s.Processes) - 1; i >= 0; i-- {
		p := s.Processes[i]
		if PIDAlive(p.PID, p.Binary) {
			if err := stopPID(p.PID, p.Binary, 15*time.Second); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
			} else {
				stopped = append(stopped, p)
			}
		}
		if p.Name == "containerd" {
			errs = append(errs, teardownNode(s.NodeDir, s.NodeCgroup))
		}
	}
	if s.DataDir != "" {
		errs = append(errs, os.RemoveAll(s.DataDir))
	}
	return stopped, errors.Join(errs...)
}
