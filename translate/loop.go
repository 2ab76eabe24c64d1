package translate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// itemsParameter carries a loop's items into the wrapper template that holds its parallelism.
const itemsParameter = "kfp-argo-items"

// loop turns a ParallelFor task into Argo's own fan-out: withItems for a literal list, withParam for a list
// that arrives at run time; each iteration gets its item as the loop body's item input ({{item}}). A
// parallelismLimit needs a template of its own to hold Argo's parallelism: a wrapper DAG whose only task fans
// out, named like the loop so node names still read like the IR.
func (c *compiler) loop(sc scope, t *TaskSpec, comp *ComponentSpec, task wfv1.DAGTask, tp string) (wfv1.DAGTask, error) {
	it := t.ParameterIterator
	ip := tp + ".parameterIterator"
	if comp.DAG == nil {
		return task, pathErrorf(ip, "a loop must run a DAG component")
	}
	if inputParam(comp, it.ItemInput) == nil {
		return task, pathErrorf(ip+".itemInput", "component %q has no input %q", t.ComponentRef.Name, it.ItemInput)
	}
	task.Arguments.Parameters = append(task.Arguments.Parameters, wfv1.Parameter{Name: paramName(it.ItemInput), Value: wfv1.AnyStringPtr("{{item}}")})
	var items []wfv1.Item
	var param string
	switch {
	case it.Items.Raw != "" && it.Items.InputParameter == "":
		if strings.Contains(it.Items.Raw, "{{") {
			return task, unsupported(ip+".items.raw", "loop items that contain \"{{\"")
		}
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(it.Items.Raw), &list); err != nil {
			return task, pathErrorf(ip+".items.raw", "expected a JSON list: %v", err)
		}
		for _, raw := range list {
			var item wfv1.Item
			if err := json.Unmarshal(raw, &item); err != nil {
				return task, pathErrorf(ip+".items.raw", "%v", err)
			}
			// JSON escapes (\u007b\u007b) hide braces from the check above; Argo sees the decoded item.
			var decoded any
			if err := json.Unmarshal(raw, &decoded); err != nil {
				return task, pathErrorf(ip+".items.raw", "%v", err)
			}
			if text, err := json.Marshal(decoded); err != nil || strings.Contains(string(text), "{{") {
				return task, unsupported(ip+".items.raw", "loop items that contain \"{{\"")
			}
			items = append(items, item)
		}
	case it.Items.InputParameter != "" && it.Items.Raw == "":
		if t.Inputs == nil || t.Inputs.Parameters[it.Items.InputParameter] == nil {
			return task, pathErrorf(ip+".items.inputParameter", "the task has no input %q", it.Items.InputParameter)
		}
		v, ok, err := c.parameterSource(sc, t, it.Items.InputParameter, TypeList, fmt.Sprintf("%s.inputs.parameters[%q]", tp, it.Items.InputParameter))
		if err != nil {
			return task, err
		}
		if !ok {
			return task, pathErrorf(ip+".items.inputParameter", "the list %q is not given", it.Items.InputParameter)
		}
		param = v
	default:
		return task, pathErrorf(ip+".items", "expected exactly one of raw and inputParameter")
	}
	limit := 0
	if t.IteratorPolicy != nil {
		limit = t.IteratorPolicy.ParallelismLimit
		if limit < 0 {
			return task, pathErrorf(tp+".iteratorPolicy.parallelismLimit", "expected 0 or more, got %d", limit)
		}
	}
	if limit == 0 {
		task.WithItems, task.WithParam = items, param
		return task, nil
	}
	// The wrapper receives everything the loop task would, plus the items, and fans out inside.
	if items != nil {
		text, err := json.Marshal(items)
		if err != nil {
			return task, err
		}
		param = string(text)
	}
	wrapper := wfv1.Template{Name: c.reserveName(task.Template + "-parallel"), Parallelism: ptr(int64(limit))}
	inner := wfv1.DAGTask{Name: task.Name, Template: task.Template, WithParam: "{{inputs.parameters." + itemsParameter + "}}"}
	outer := wfv1.DAGTask{Name: task.Name, Template: wrapper.Name, Depends: task.Depends, When: task.When}
	for _, p := range task.Arguments.Parameters {
		if p.Name == paramName(it.ItemInput) {
			inner.Arguments.Parameters = append(inner.Arguments.Parameters, p)
			continue
		}
		wrapper.Inputs.Parameters = append(wrapper.Inputs.Parameters, wfv1.Parameter{Name: p.Name})
		inner.Arguments.Parameters = append(inner.Arguments.Parameters, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr("{{inputs.parameters." + p.Name + "}}")})
		outer.Arguments.Parameters = append(outer.Arguments.Parameters, p)
	}
	for _, a := range task.Arguments.Artifacts {
		wrapper.Inputs.Artifacts = append(wrapper.Inputs.Artifacts, wfv1.Artifact{Name: a.Name})
		inner.Arguments.Artifacts = append(inner.Arguments.Artifacts, wfv1.Artifact{Name: a.Name, From: "{{inputs.artifacts." + a.Name + "}}"})
		outer.Arguments.Artifacts = append(outer.Arguments.Artifacts, a)
	}
	wrapper.Inputs.Parameters = append(wrapper.Inputs.Parameters, wfv1.Parameter{Name: itemsParameter})
	outer.Arguments.Parameters = append(outer.Arguments.Parameters, wfv1.Parameter{Name: itemsParameter, Value: wfv1.AnyStringPtr(param)})
	wrapper.DAG = &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{inner}}
	// Outputs of the iterations, aggregated by Argo, pass through the wrapper unchanged.
	body := templateByName(c.templates, task.Template)
	if body != nil {
		for _, o := range body.Outputs.Parameters {
			wrapper.Outputs.Parameters = append(wrapper.Outputs.Parameters, wfv1.Parameter{Name: o.Name, ValueFrom: &wfv1.ValueFrom{Parameter: fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", inner.Name, o.Name)}})
		}
	}
	c.templates = append(c.templates, wrapper)
	return outer, nil
}

func templateByName(list []wfv1.Template, name string) *wfv1.Template {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

var selectorRE = regexp.MustCompile(`^parseJson\(string_value\)\[(?:"([^"]*)"|'([^']*)')\]$`)

// selected resolves an input with a parameterExpressionSelector (a loop item's sub-field) with an Argo
// expression: strings stay raw text, everything else becomes JSON text, the canonical forms.
func (c *compiler) selected(sc scope, t *TaskSpec, name, pp string) (string, bool, error) {
	ip := t.Inputs.Parameters[name]
	m := selectorRE.FindStringSubmatch(ip.ParameterExpressionSelector)
	if m == nil {
		return "", false, unsupported(pp+".parameterExpressionSelector", fmt.Sprintf("the selector %q (kfp-argo reads parseJson(string_value)[\"field\"])", ip.ParameterExpressionSelector))
	}
	field := m[1] + m[2]
	base := *ip
	base.ParameterExpressionSelector = ""
	tmp := *t
	tmp.Inputs = &TaskInputsSpec{Parameters: map[string]*TaskInputParameter{name: &base}}
	text, ok, err := c.parameterSource(sc, &tmp, name, TypeString, pp)
	if err != nil || !ok {
		return text, ok, err
	}
	ref, err := exprOf(text)
	if err != nil {
		return "", false, pathErrorf(pp, "%v", err)
	}
	f := fmt.Sprintf("fromJSON(%s)[%s]", ref, exprString(field))
	return fmt.Sprintf("{{=(type(%[1]s) == 'string' ? %[1]s : toJson(%[1]s))}}", f), true, nil
}

// exprOf turns Argo reference text ({{inputs.parameters.x}}, {{workflow.parameters.x}},
// {{tasks.t.outputs.parameters.x}}, or an expression tag) into an expr-lang expression.
func exprOf(text string) (string, error) {
	if strings.HasPrefix(text, "{{=") && strings.HasSuffix(text, "}}") && strings.Count(text, "{{") == 1 {
		return "(" + strings.TrimSuffix(strings.TrimPrefix(text, "{{="), "}}") + ")", nil
	}
	if strings.HasPrefix(text, "{{tasks.") && strings.HasSuffix(text, "}}") && strings.Count(text, "{{") == 1 {
		inner := strings.TrimSuffix(strings.TrimPrefix(text, "{{tasks."), "}}")
		task, rest, ok := strings.Cut(inner, ".outputs.parameters.")
		if ok {
			return fmt.Sprintf("tasks[%s].outputs.parameters[%s]", exprString(task), exprString(rest)), nil
		}
	}
	return exprRef(text)
}

// collected returns, for an output of a producer task that is a loop (directly or through sub-pipelines), an
// expression that turns Argo's aggregate (a JSON list whose elements are strings, or objects and lists when
// every element is one) into the typed list KFP's dsl.Collected delivers: [1,2,3] arrives as integers.
func (c *compiler) collected(producer *TaskSpec, key, ref string) (string, bool, error) {
	conv, looped, err := c.typedOutput(producer, key, ref, 0)
	return conv, looped, err
}

// typedOutput converts x, the Argo value of output key of producer, to the typed value; looped reports
// whether a loop is involved (only then is a conversion needed).
func (c *compiler) typedOutput(producer *TaskSpec, key, x string, depth int) (string, bool, error) {
	if depth > 32 {
		return "", false, fmt.Errorf("output %q: sub-pipelines nested too deep", key)
	}
	comp := c.s.Components[producer.ComponentRef.Name]
	if comp.DAG != nil {
		if comp.DAG.Outputs == nil || comp.DAG.Outputs.Parameters[key] == nil || comp.DAG.Outputs.Parameters[key].ValueFromParameter == nil {
			return x, false, nil
		}
		sel := comp.DAG.Outputs.Parameters[key].ValueFromParameter
		inner := comp.DAG.Tasks[sel.ProducerSubtask]
		if producer.ParameterIterator != nil {
			elem, _, err := c.typedOutput(inner, sel.OutputParameterKey, "#", depth+1)
			if err != nil {
				return "", false, err
			}
			// Iterations whose producer was skipped report the "not given" marker: KFP collects only the
			// values that exist.
			return fmt.Sprintf("map(filter(%s, # != '%s'), %s)", asJSON(x), noneValue, elem), true, nil
		}
		return c.typedOutput(inner, sel.OutputParameterKey, x, depth+1)
	}
	typ := ""
	if comp.OutputDefinitions != nil && comp.OutputDefinitions.Parameters[key] != nil {
		typ = comp.OutputDefinitions.Parameters[key].ParameterType
	}
	switch typ {
	case TypeInteger:
		return "int(" + x + ")", false, nil
	case TypeDouble:
		return "float(" + x + ")", false, nil
	case TypeBoolean:
		return boolExpr(x), false, nil
	case TypeList, TypeStruct:
		return asJSON(x), false, nil
	}
	return x, false, nil
}

func asJSON(x string) string {
	return fmt.Sprintf("(type(%[1]s) == 'string' ? fromJSON(%[1]s) : %[1]s)", x)
}

// artifactLoop turns a ParallelFor over a list of artifacts (a collected list) into a fan-out over the list's
// metadata documents: each iteration gets the artifact of one producing pod, under the list's key prefix.
func (c *compiler) artifactLoop(sc scope, t *TaskSpec, comp *ComponentSpec, task wfv1.DAGTask, tp string) (wfv1.DAGTask, error) {
	it := t.ArtifactIterator
	ip := tp + ".artifactIterator"
	if comp.DAG == nil || inputArtifact(comp, it.ItemInput) == nil {
		return task, pathErrorf(ip+".itemInput", "a loop over artifacts must run a DAG component with input artifact %q", it.ItemInput)
	}
	if t.IteratorPolicy != nil && t.IteratorPolicy.ParallelismLimit > 0 {
		return task, unsupported(tp+".iteratorPolicy", "a parallelism limit on a loop over artifacts")
	}
	var ref *TaskOutputArtifact
	if t.Inputs != nil && t.Inputs.Artifacts[it.Items.InputArtifact] != nil {
		ref = t.Inputs.Artifacts[it.Items.InputArtifact].TaskOutputArtifact
	}
	if ref == nil {
		return task, unsupported(ip+".items.inputArtifact", "loops over artifact lists that are not collected from a loop in the same pipeline")
	}
	loc, collected, err := c.collectedInput(sc, ref, &ArtifactSpec{IsArtifactList: true}, ip+".items.inputArtifact")
	if err != nil {
		return task, err
	}
	if !collected {
		return task, unsupported(ip+".items.inputArtifact", "loops over artifact lists that are not collected from a loop")
	}
	docs := fmt.Sprintf("tasks[%s].outputs.parameters[%s]", exprString(fieldName(ref.ProducerTask)), exprString(MetadataParameterPrefix+paramName(ref.OutputArtifactKey)))
	// Items are the documents as objects; skipped iterations ("not given"), unreadable documents and documents
	// that name no producing pod (nothing was written) drop out.
	task.WithParam = fmt.Sprintf("{{=toJson(filter(map(fromJSON(%s), type(#) == 'string' ? (# startsWith '%s' ? nil : fromJSON(#)) : #), # != nil && #?.producer != nil))}}", docs, inertPrefix)
	item := wfv1.Artifact{Name: paramName(it.ItemInput)}
	item.S3 = &wfv1.S3Artifact{Key: loc.S3.Key + "/{{item.producer}}"}
	task.Arguments.Artifacts = append(task.Arguments.Artifacts, item)
	task.Arguments.Parameters = append(task.Arguments.Parameters, wfv1.Parameter{Name: MetadataParameterPrefix + paramName(it.ItemInput), Value: wfv1.AnyStringPtr("{{item}}")})
	return task, nil
}
