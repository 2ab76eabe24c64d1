package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSyncFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--workers", "0"}, "--workers 0"},
		{[]string{"sync", "--log-format", "xml"}, "--log-format \"xml\""},
		{[]string{"sync", "--log-level", "loud"}, "--log-level \"loud\""},
		{[]string{"sync", "-n", "a", "-A"}, "exclusive"},
		{[]string{"sync", "extra"}, "unknown command"},
	} {
		cmd := NewRootCommand()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(tc.args)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}
