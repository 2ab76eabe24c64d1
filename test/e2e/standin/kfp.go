package standin

import (
	"encoding/json"

	"github.com/kfp-argo/kfp-argo/translate"
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
	if err := json.Unmarshal([]byte(decodeValue(raw)), &c); err != nil {
		return ""
	}
	for _, p := range c.OutputParameters {
		if p.Name == output {
			return p.Type
		}
	}
	return ""
}

// decodeValue undoes the compiler's escaping of text that Argo would otherwise evaluate.
func decodeValue(s string) string {
	v, _ := translate.DecodeValue(s)
	return v
}
