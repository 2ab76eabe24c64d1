package standin

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// KFPContractTypes is a TypeOf for workflows compiled by kfp-argo: it reads
// the output parameter types from the runtime contract that the compiler
// gives lightweight Python components (env KFP_ARGO_CONTRACT on the main
// container, possibly in the compiler's inert base64 form). Container
// components carry no such contract; their outputs get "".
func KFPContractTypes(t Task, output string) string {
	raw, ok := t.MainEnv["KFP_ARGO_CONTRACT"]
	if !ok {
		return ""
	}
	var c struct {
		OutputParameters []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"outputParameters"`
	}
	if err := json.Unmarshal([]byte(decodeInert(raw)), &c); err != nil {
		return ""
	}
	for _, p := range c.OutputParameters {
		if p.Name == output {
			return p.Type
		}
	}
	return ""
}

// decodeInert undoes the compiler's "%%kfpb64:<base64>%%" escaping of text
// that Argo would otherwise evaluate.
func decodeInert(s string) string {
	const prefix, suffix = "%%kfpb64:", "%%"
	var b strings.Builder
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			break
		}
		rest := s[i+len(prefix):]
		j := strings.Index(rest, suffix)
		if j < 0 {
			break
		}
		raw, err := base64.StdEncoding.DecodeString(rest[:j])
		if err != nil {
			break
		}
		b.WriteString(s[:i])
		b.Write(raw)
		s = rest[j+len(suffix):]
	}
	b.WriteString(s)
	return b.String()
}
