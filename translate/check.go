package translate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// check verifies what decoding cannot: required fields, references between components, executors and tasks,
// and the absence of dependency cycles. Every error names the IR path.
func check(p *Pipeline) error {
	s := p.Spec
	if !strings.HasPrefix(s.SchemaVersion, "2.") {
		if s.SchemaVersion == "" {
			return pathErrorf("schemaVersion", "missing: expected a KFP v2 pipeline spec (schemaVersion 2.x)")
		}
		return pathErrorf("schemaVersion", "unsupported schema version %q: expected 2.x", s.SchemaVersion)
	}
	if s.PipelineInfo.Name == "" {
		return pathErrorf("pipelineInfo.name", "missing: every pipeline needs a name")
	}
	if s.Root == nil {
		return pathErrorf("root", "missing: the pipeline has no root DAG")
	}
	if s.Root.DAG == nil || s.Root.ExecutorLabel != "" {
		return pathErrorf("root", "the root component must be a DAG")
	}
	for _, name := range sortedMapKeys(s.Components) {
		c := s.Components[name]
		path := fmt.Sprintf("components[%s]", strconv.Quote(name))
		if c == nil {
			return pathErrorf(path, "empty component")
		}
		if err := checkComponent(s, c, path); err != nil {
			return err
		}
	}
	for _, label := range sortedMapKeys(s.DeploymentSpec.Executors) {
		if err := checkExecutor(s.DeploymentSpec.Executors[label], fmt.Sprintf("deploymentSpec.executors[%s]", strconv.Quote(label))); err != nil {
			return err
		}
	}
	if err := checkComponent(s, s.Root, "root"); err != nil {
		return err
	}
	return checkPlatform(p)
}

func checkComponent(s *PipelineSpec, c *ComponentSpec, path string) error {
	if (c.DAG == nil) == (c.ExecutorLabel == "") {
		return pathErrorf(path, "a component needs exactly one of dag and executorLabel")
	}
	if c.ExecutorLabel != "" {
		if s.DeploymentSpec.Executors[c.ExecutorLabel] == nil {
			return pathErrorf(path+".executorLabel", "executor %q is not in deploymentSpec.executors", c.ExecutorLabel)
		}
	}
	if c.InputDefinitions != nil {
		for _, name := range sortedMapKeys(c.InputDefinitions.Parameters) {
			ps := c.InputDefinitions.Parameters[name]
			pp := fmt.Sprintf("%s.inputDefinitions.parameters[%s]", path, strconv.Quote(name))
			if ps == nil || !knownParameterType(ps.ParameterType) {
				t := ""
				if ps != nil {
					t = ps.ParameterType
				}
				return pathErrorf(pp+".parameterType", "unknown parameter type %q", t)
			}
			if _, err := literalTexts(ps); err != nil {
				return pathErrorf(pp, "%v", err)
			}
			ps.DefaultValue = legacyValue(ps.ParameterType, ps.DefaultValue)
			if ps.DefaultValue != nil {
				if _, err := canonicalValue(ps.ParameterType, ps.DefaultValue); err != nil {
					return pathErrorf(pp+".defaultValue", "%v", err)
				}
				if err := checkLiteral(ps, ps.DefaultValue); err != nil {
					return pathErrorf(pp+".defaultValue", "%v", err)
				}
			}
		}
	}
	if c.OutputDefinitions != nil {
		for _, name := range sortedMapKeys(c.OutputDefinitions.Parameters) {
			ps := c.OutputDefinitions.Parameters[name]
			if ps == nil || !knownParameterType(ps.ParameterType) || ps.ParameterType == TypeTaskFinalStatus {
				return pathErrorf(fmt.Sprintf("%s.outputDefinitions.parameters[%s].parameterType", path, strconv.Quote(name)), "unknown output parameter type")
			}
		}
	}
	if c.DAG != nil {
		if err := checkDAGProducesOutputs(c, path); err != nil {
			return err
		}
		return checkDAG(s, c, path+".dag")
	}
	return nil
}

// checkDAGProducesOutputs: every output a DAG component declares must come from one of its tasks, or a
// consumer would read an output the sub-pipeline never has.
func checkDAGProducesOutputs(c *ComponentSpec, path string) error {
	if c.OutputDefinitions == nil {
		return nil
	}
	outs := c.DAG.Outputs
	if outs == nil {
		outs = &DAGOutputsSpec{}
	}
	for _, name := range sortedMapKeys(c.OutputDefinitions.Parameters) {
		if outs.Parameters[name] == nil {
			return pathErrorf(fmt.Sprintf("%s.outputDefinitions.parameters[%s]", path, strconv.Quote(name)), "not produced: %s.dag.outputs.parameters has no entry for it", path)
		}
	}
	for _, name := range sortedMapKeys(c.OutputDefinitions.Artifacts) {
		if outs.Artifacts[name] == nil {
			return pathErrorf(fmt.Sprintf("%s.outputDefinitions.artifacts[%s]", path, strconv.Quote(name)), "not produced: %s.dag.outputs.artifacts has no entry for it", path)
		}
	}
	return nil
}

func checkExecutor(e *ExecutorSpec, path string) error {
	if e == nil {
		return pathErrorf(path, "empty executor")
	}
	kinds := 0
	for _, set := range []bool{e.Container != nil, e.Importer != nil, e.Resolver != nil, e.CustomJob != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return pathErrorf(path, "an executor needs exactly one of container, importer, resolver, customJob")
	}
	if e.Container != nil && e.Container.Image == "" {
		return pathErrorf(path+".container.image", "missing: a container executor needs an image")
	}
	if e.Importer != nil {
		if e.Importer.ArtifactURI.Constant == nil && e.Importer.ArtifactURI.RuntimeParameter == "" {
			return pathErrorf(path+".importer.artifactUri", "missing: an importer needs a constant or runtimeParameter URI")
		}
	}
	return nil
}

func checkDAG(s *PipelineSpec, parent *ComponentSpec, path string) error {
	tasks := parent.DAG.Tasks
	deps := map[string][]string{}
	for _, name := range sortedMapKeys(tasks) {
		t := tasks[name]
		tp := fmt.Sprintf("%s.tasks[%s]", path, strconv.Quote(name))
		if t == nil {
			return pathErrorf(tp, "empty task")
		}
		comp := s.Components[t.ComponentRef.Name]
		if t.ComponentRef.Name == "" {
			return pathErrorf(tp+".componentRef.name", "missing")
		}
		if comp == nil {
			return pathErrorf(tp+".componentRef.name", "component %q is not in components", t.ComponentRef.Name)
		}
		for _, d := range t.DependentTasks {
			if tasks[d] == nil {
				return pathErrorf(tp+".dependentTasks", "task %q is not in this DAG", d)
			}
			deps[name] = append(deps[name], d)
		}
		producers, err := checkTaskInputs(s, parent, tasks, t, comp, tp)
		if err != nil {
			return err
		}
		deps[name] = append(deps[name], producers...)
	}
	if cycle := findCycle(deps); cycle != nil {
		return pathErrorf(path+".tasks", "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
	if parent.DAG.Outputs != nil {
		for _, name := range sortedMapKeys(parent.DAG.Outputs.Parameters) {
			o := parent.DAG.Outputs.Parameters[name]
			op := fmt.Sprintf("%s.outputs.parameters[%s]", path, strconv.Quote(name))
			var sels []ParameterSelector
			if o != nil && o.ValueFromParameter != nil {
				sels = append(sels, *o.ValueFromParameter)
			}
			if o != nil && o.ValueFromOneof != nil {
				sels = append(sels, o.ValueFromOneof.ParameterSelectors...)
			}
			if len(sels) == 0 {
				return pathErrorf(op, "no source: expected valueFromParameter or valueFromOneof")
			}
			for _, sel := range sels {
				if err := checkOutputRef(s, tasks, sel.ProducerSubtask, sel.OutputParameterKey, false, op); err != nil {
					return err
				}
			}
		}
		for _, name := range sortedMapKeys(parent.DAG.Outputs.Artifacts) {
			o := parent.DAG.Outputs.Artifacts[name]
			op := fmt.Sprintf("%s.outputs.artifacts[%s]", path, strconv.Quote(name))
			if o == nil || len(o.ArtifactSelectors) == 0 {
				return pathErrorf(op, "no source: expected artifactSelectors")
			}
			for _, sel := range o.ArtifactSelectors {
				if err := checkOutputRef(s, tasks, sel.ProducerSubtask, sel.OutputArtifactKey, true, op); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkTaskInputs checks every task input against the component's definitions and returns the producer tasks.
func checkTaskInputs(s *PipelineSpec, parent *ComponentSpec, siblings map[string]*TaskSpec, t *TaskSpec, comp *ComponentSpec, tp string) ([]string, error) {
	var producers []string
	var in TaskInputsSpec
	if t.Inputs != nil {
		in = *t.Inputs
	}
	for _, name := range sortedMapKeys(in.Parameters) {
		ip := in.Parameters[name]
		pp := fmt.Sprintf("%s.inputs.parameters[%s]", tp, strconv.Quote(name))
		if ip == nil {
			return nil, pathErrorf(pp, "empty input")
		}
		// A task may carry inputs its component does not declare: the SDK passes f-string and condition
		// operands ("pipelinechannel--...") and resource values that way. Only declared ones reach the component.
		sources := 0
		if ip.ComponentInputParameter != "" {
			sources++
			if inputParam(parent, ip.ComponentInputParameter) == nil && !isParentLoopItem(ip.ComponentInputParameter) {
				return nil, pathErrorf(pp+".componentInputParameter", "the enclosing component has no input parameter %q", ip.ComponentInputParameter)
			}
		}
		if ip.TaskOutputParameter != nil {
			sources++
			ref := ip.TaskOutputParameter
			if err := checkOutputRef(s, siblings, ref.ProducerTask, ref.OutputParameterKey, false, pp+".taskOutputParameter"); err != nil {
				return nil, err
			}
			producers = append(producers, ref.ProducerTask)
		}
		if ip.RuntimeValue != nil {
			sources++
			if def := inputParam(comp, name); def != nil {
				ip.RuntimeValue.Constant = legacyValue(def.ParameterType, ip.RuntimeValue.Constant)
			}
			if def := inputParam(comp, name); def != nil && ip.RuntimeValue.Constant != nil {
				if s, ok := ip.RuntimeValue.Constant.(string); !ok || !strings.Contains(s, "{{$") {
					if err := checkLiteral(def, ip.RuntimeValue.Constant); err != nil {
						return nil, pathErrorf(pp+".runtimeValue.constant", "%v", err)
					}
				}
			}
		}
		if ip.TaskFinalStatus != nil {
			sources++
			if siblings[ip.TaskFinalStatus.ProducerTask] == nil {
				return nil, pathErrorf(pp+".taskFinalStatus.producerTask", "task %q is not in this DAG", ip.TaskFinalStatus.ProducerTask)
			}
		}
		if sources != 1 {
			return nil, pathErrorf(pp, "an input parameter needs exactly one of componentInputParameter, taskOutputParameter, runtimeValue, taskFinalStatus")
		}
	}
	for _, name := range sortedMapKeys(in.Artifacts) {
		ia := in.Artifacts[name]
		ap := fmt.Sprintf("%s.inputs.artifacts[%s]", tp, strconv.Quote(name))
		if ia == nil {
			return nil, pathErrorf(ap, "empty input")
		}
		if inputArtifact(comp, name) == nil {
			return nil, pathErrorf(ap, "component %q has no input artifact %q", t.ComponentRef.Name, name)
		}
		switch {
		case ia.TaskOutputArtifact != nil && ia.ComponentInputArtifact == "":
			ref := ia.TaskOutputArtifact
			if err := checkOutputRef(s, siblings, ref.ProducerTask, ref.OutputArtifactKey, true, ap+".taskOutputArtifact"); err != nil {
				return nil, err
			}
			producers = append(producers, ref.ProducerTask)
		case ia.ComponentInputArtifact != "" && ia.TaskOutputArtifact == nil:
			if inputArtifact(parent, ia.ComponentInputArtifact) == nil {
				return nil, pathErrorf(ap+".componentInputArtifact", "the enclosing component has no input artifact %q", ia.ComponentInputArtifact)
			}
		default:
			return nil, pathErrorf(ap, "an input artifact needs exactly one of taskOutputArtifact, componentInputArtifact")
		}
	}
	// Required inputs must be given: the SDK guarantees it, hand-edited specs may not.
	if comp.InputDefinitions != nil {
		for _, name := range sortedMapKeys(comp.InputDefinitions.Parameters) {
			def := comp.InputDefinitions.Parameters[name]
			if def.IsOptional || def.DefaultValue != nil || in.Parameters[name] != nil || isLoopItemInput(t, name) {
				continue
			}
			return nil, pathErrorf(tp+".inputs.parameters", "required input parameter %q of component %q is not given", name, t.ComponentRef.Name)
		}
		for _, name := range sortedMapKeys(comp.InputDefinitions.Artifacts) {
			def := comp.InputDefinitions.Artifacts[name]
			if def.IsOptional || in.Artifacts[name] != nil || isLoopItemInput(t, name) {
				continue
			}
			return nil, pathErrorf(tp+".inputs.artifacts", "required input artifact %q of component %q is not given", name, t.ComponentRef.Name)
		}
	}
	return producers, nil
}

// isLoopItemInput reports inputs that a ParallelFor iterator provides rather than the task's inputs.
func isLoopItemInput(t *TaskSpec, name string) bool {
	return (t.ParameterIterator != nil && t.ParameterIterator.ItemInput == name) ||
		(t.ArtifactIterator != nil && t.ArtifactIterator.ItemInput == name)
}

// isParentLoopItem: inside a ParallelFor body, tasks read the loop item through a "-loop-item" channel that
// the enclosing DAG component receives from its iterator rather than from its inputDefinitions.
func isParentLoopItem(name string) bool {
	return strings.Contains(name, "-loop-item")
}

func checkOutputRef(s *PipelineSpec, tasks map[string]*TaskSpec, producer, key string, artifact bool, path string) error {
	t := tasks[producer]
	if t == nil {
		return pathErrorf(path, "producer task %q is not in this DAG", producer)
	}
	comp := s.Components[t.ComponentRef.Name]
	if comp == nil || comp.OutputDefinitions == nil {
		return pathErrorf(path, "task %q has no outputs", producer)
	}
	if artifact {
		if comp.OutputDefinitions.Artifacts[key] == nil {
			return pathErrorf(path, "task %q has no output artifact %q", producer, key)
		}
		return nil
	}
	if comp.OutputDefinitions.Parameters[key] == nil {
		return pathErrorf(path, "task %q has no output parameter %q", producer, key)
	}
	return nil
}

func inputParam(c *ComponentSpec, name string) *ParameterSpec {
	if c == nil || c.InputDefinitions == nil {
		return nil
	}
	return c.InputDefinitions.Parameters[name]
}

func inputArtifact(c *ComponentSpec, name string) *ArtifactSpec {
	if c == nil || c.InputDefinitions == nil {
		return nil
	}
	return c.InputDefinitions.Artifacts[name]
}

// findCycle returns one dependency cycle (as task names, first repeated at the end) or nil.
func findCycle(deps map[string][]string) []string {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		state[n] = active
		stack = append(stack, n)
		next := append([]string(nil), deps[n]...)
		sort.Strings(next)
		for _, d := range next {
			switch state[d] {
			case active:
				for i, s := range stack {
					if s == d {
						return append(append([]string(nil), stack[i:]...), d)
					}
				}
			case unseen:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, n := range sortedMapKeys(deps) {
		if state[n] == unseen {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}

func checkPlatform(p *Pipeline) error {
	if p.Platform == nil {
		return nil
	}
	for _, name := range sortedMapKeys(p.Platform.Platforms) {
		if name != "kubernetes" {
			return pathErrorf(fmt.Sprintf("platforms[%s]", strconv.Quote(name)), "unknown platform: only kubernetes is defined")
		}
	}
	return nil
}

func knownParameterType(t string) bool {
	switch t {
	case TypeString, TypeInteger, TypeDouble, TypeBoolean, TypeList, TypeStruct, TypeTaskFinalStatus:
		return true
	}
	return false
}

func sortedMapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
