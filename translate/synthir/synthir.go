// Package synthir generates synthetic KFP pipeline specs (IR 2.1.0) shaped like the KFP SDK's output, for
// benchmarks and tests of large pipelines.
//
// The shape follows what `kfp.compiler` writes for a pipeline of lightweight Python components: every task gets
// its own component and executor (`comp-process`, `comp-process-2`, … with byte-identical executors where the
// same Python function is reused), task names are unique across the pipeline, conditions and loops are
// sub-DAG components (`condition-N`, `for-loop-N`) fed through `pipelinechannel--` inputs, and every executor
// carries the SDK's pip bootstrap, program launcher and function source.
//
// The mix, drawn from a seeded random source so a (tasks, seed) pair always gives the same bytes: chains of
// parameter passing, fan-outs from earlier producers (near and far back), pipeline parameters, artifact
// producers and consumers, conditions on a coin flip and ParallelFor loops over a static list. Most tasks are in
// the root DAG, which is what makes a large pipeline large.
package synthir

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"

	"sigs.k8s.io/yaml"
)

// Options shape the generated pipeline.
type Options struct {
	// Tasks is the number of executor tasks (pods per run, counting one loop iteration). Condition and loop
	// groups come on top, as the SDK's DAG tasks.
	Tasks int
	// Seed selects the random mix.
	Seed int64
	// Functions is the number of distinct Python functions of each kind, reused round robin (default 1, as in
	// a pipeline that calls the same few components many times). A larger value gives more distinct
	// components, as in a pipeline assembled from many different components.
	Functions int
}

// Generate returns the IR YAML of an SDK-style pipeline of n executor tasks.
func Generate(n int, seed int64) []byte {
	return GenerateWith(Options{Tasks: n, Seed: seed})
}

// GenerateWith returns the IR YAML for the options.
func GenerateWith(o Options) []byte {
	if o.Functions < 1 {
		o.Functions = 1
	}
	g := &gen{
		rnd:        rand.New(rand.NewSource(o.Seed)),
		opts:       o,
		used:       map[string]int{},
		calls:      map[string]int{},
		components: map[string]any{},
		executors:  map[string]any{},
	}
	root := g.rootDAG()
	spec := map[string]any{
		"components":     g.components,
		"deploymentSpec": map[string]any{"executors": g.executors},
		"pipelineInfo":   map[string]any{"name": fmt.Sprintf("synthetic-%d-tasks", o.Tasks)},
		"root": map[string]any{
			"dag": map[string]any{"tasks": root},
			"inputDefinitions": map[string]any{"parameters": map[string]any{
				"text":   map[string]any{"defaultValue": "hello", "isOptional": true, "parameterType": "STRING"},
				"count":  map[string]any{"defaultValue": 3, "isOptional": true, "parameterType": "NUMBER_INTEGER"},
				"factor": map[string]any{"defaultValue": 1.5, "isOptional": true, "parameterType": "NUMBER_DOUBLE"},
			}},
		},
		"schemaVersion": "2.1.0",
		"sdkVersion":    "kfp-2.14.3",
	}
	out, err := yaml.Marshal(spec)
	if err != nil {
		// Only maps, strings and numbers go in: marshalling cannot fail.
		panic(err)
	}
	return append([]byte("# PIPELINE DEFINITION\n# Name: "+fmt.Sprintf("synthetic-%d-tasks", o.Tasks)+"\n"), out...)
}

type gen struct {
	rnd        *rand.Rand
	opts       Options
	made       int            // executor tasks emitted so far
	groups     int            // condition/loop counter, shared as in the SDK
	used       map[string]int // base name -> times used, for SDK-style -2, -3 suffixes
	calls      map[string]int // kind -> times used, to rotate over Options.Functions
	components map[string]any
	executors  map[string]any
}

// producer is a task in the current DAG whose output can be consumed.
type producer struct{ task, output string }

// rootDAG emits tasks until the budget is spent.
func (g *gen) rootDAG() map[string]any {
	tasks := map[string]any{}
	var params, arts []producer
	for g.made < g.opts.Tasks {
		left := g.opts.Tasks - g.made
		switch r := g.rnd.Intn(100); {
		case r < 25 || len(params) == 0: // a task reading a pipeline parameter (starts a chain)
			name := g.task(tasks, kindProduce, map[string]any{"text": compInput("text")}, nil, nil)
			params = append(params, producer{name, "Output"})
		case r < 50: // chain: consume the latest producer
			p := params[len(params)-1]
			name := g.task(tasks, kindProcess, map[string]any{"msg": taskParam(p)}, nil, []string{p.task})
			params = append(params, producer{name, "Output"})
		case r < 62: // fan-out: consume a random earlier producer, mostly recent, sometimes far back
			p := g.pick(params)
			name := g.task(tasks, kindProcess, map[string]any{"msg": taskParam(p)}, nil, []string{p.task})
			params = append(params, producer{name, "Output"})
		case r < 72: // artifact producer
			p := g.pick(params)
			name := g.task(tasks, kindMakeData, map[string]any{"msg": taskParam(p), "factor": compInput("factor")}, nil, []string{p.task})
			arts = append(arts, producer{name, "out_data"})
		case r < 82 && len(arts) > 0: // artifact consumer
			a := g.pick(arts)
			name := g.task(tasks, kindReadData, nil, map[string]any{"data": taskArt(a)}, []string{a.task})
			params = append(params, producer{name, "Output"})
		case r < 91 && left >= 3: // condition on a coin flip
			flip := g.task(tasks, kindFlip, nil, nil, nil)
			g.condition(tasks, producer{flip, "Output"}, min(left-1, 1+g.rnd.Intn(3)))
		case left >= 2: // ParallelFor over a static list
			g.loop(tasks, g.pick(params), min(left, 1+g.rnd.Intn(2)))
		default:
			name := g.task(tasks, kindProduce, map[string]any{"text": compInput("text")}, nil, nil)
			params = append(params, producer{name, "Output"})
		}
	}
	return tasks
}

// pick returns a producer: usually one of the last 20, one time in eight any earlier one.
func (g *gen) pick(ps []producer) producer {
	if g.rnd.Intn(8) == 0 {
		return ps[g.rnd.Intn(len(ps))]
	}
	lo := max(0, len(ps)-20)
	return ps[lo+g.rnd.Intn(len(ps)-lo)]
}

// condition emits a condition-N group running a short chain when the flip says heads.
func (g *gen) condition(parent map[string]any, flip producer, size int) {
	g.groups++
	name := fmt.Sprintf("condition-%d", g.groups)
	channel := "pipelinechannel--" + flip.task + "-" + flip.output
	tasks := map[string]any{}
	prev := ""
	for i := 0; i < size; i++ {
		in := map[string]any{"msg": compInput(channel)}
		var deps []string
		if prev != "" {
			in = map[string]any{"msg": taskParam(producer{prev, "Output"})}
			deps = []string{prev}
		}
		prev = g.task(tasks, kindProcess, in, nil, deps)
	}
	g.components["comp-"+name] = map[string]any{
		"dag": map[string]any{"tasks": tasks},
		"inputDefinitions": map[string]any{"parameters": map[string]any{
			channel: map[string]any{"parameterType": "STRING"},
		}},
	}
	parent[name] = map[string]any{
		"componentRef":   map[string]any{"name": "comp-" + name},
		"dependentTasks": []string{flip.task},
		"inputs": map[string]any{"parameters": map[string]any{
			channel: map[string]any{"taskOutputParameter": map[string]any{"outputParameterKey": flip.output, "producerTask": flip.task}},
		}},
		"taskInfo": map[string]any{"name": name},
		"triggerPolicy": map[string]any{
			"condition": fmt.Sprintf("inputs.parameter_values['%s'] == 'heads'", channel),
		},
	}
}

// loop emits a for-loop-N group over [1, 2, 3] whose tasks read the item and an upstream output.
func (g *gen) loop(parent map[string]any, up producer, size int) {
	g.groups++
	name := fmt.Sprintf("for-loop-%d", g.groups)
	item := fmt.Sprintf("pipelinechannel--loop-item-param-%d", g.groups)
	channel := "pipelinechannel--" + up.task + "-" + up.output
	tasks := map[string]any{}
	for i := 0; i < size; i++ {
		g.task(tasks, kindPrintItem, map[string]any{"item": compInput(item), "msg": compInput(channel)}, nil, nil)
	}
	g.components["comp-"+name] = map[string]any{
		"dag": map[string]any{"tasks": tasks},
		"inputDefinitions": map[string]any{"parameters": map[string]any{
			item:    map[string]any{"parameterType": "NUMBER_INTEGER"},
			channel: map[string]any{"parameterType": "STRING"},
		}},
	}
	parent[name] = map[string]any{
		"componentRef":   map[string]any{"name": "comp-" + name},
		"dependentTasks": []string{up.task},
		"inputs": map[string]any{"parameters": map[string]any{
			channel: map[string]any{"taskOutputParameter": map[string]any{"outputParameterKey": up.output, "producerTask": up.task}},
		}},
		"parameterIterator": map[string]any{"itemInput": item, "items": map[string]any{"raw": "[1, 2, 3]"}},
		"taskInfo":          map[string]any{"name": name},
	}
}

// task emits one executor task with its own component and executor, SDK style, and returns its name.
func (g *gen) task(dag map[string]any, k kind, params, arts map[string]any, deps []string) string {
	g.made++
	fn := k.function
	if g.opts.Functions > 1 {
		fn = fmt.Sprintf("%s_v%d", fn, g.calls[k.function]%g.opts.Functions+1)
	}
	g.calls[k.function]++
	base := strings.ReplaceAll(fn, "_", "-")
	g.used[base]++
	name := base
	if n := g.used[base]; n > 1 {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	g.components["comp-"+name] = k.component("exec-" + name)
	g.executors["exec-"+name] = map[string]any{"container": map[string]any{
		"args":    []string{"--executor_input", "{{$}}", "--function_to_execute", fn},
		"command": []string{"sh", "-c", pipBootstrap, "sh", "-ec", programLauncher, k.source(fn)},
		"image":   "python:3.11",
	}}
	t := map[string]any{
		"cachingOptions": map[string]any{"enableCache": true},
		"componentRef":   map[string]any{"name": "comp-" + name},
		"taskInfo":       map[string]any{"name": name},
	}
	in := map[string]any{}
	if len(params) > 0 {
		in["parameters"] = params
	}
	if len(arts) > 0 {
		in["artifacts"] = arts
	}
	if len(in) > 0 {
		t["inputs"] = in
	}
	if len(deps) > 0 {
		t["dependentTasks"] = deps
	}
	dag[name] = t
	return name
}

func compInput(name string) map[string]any { return map[string]any{"componentInputParameter": name} }

func taskParam(p producer) map[string]any {
	return map[string]any{"taskOutputParameter": map[string]any{"outputParameterKey": p.output, "producerTask": p.task}}
}

func taskArt(p producer) map[string]any {
	return map[string]any{"taskOutputArtifact": map[string]any{"outputArtifactKey": p.output, "producerTask": p.task}}
}

// kind is one reusable Python component.
type kind struct {
	function string
	inputs   map[string]string // parameter name -> IR type
	inArts   []string          // input Dataset artifacts
	output   string            // output parameter type, "" for none
	outArts  []string          // output Dataset artifacts
	body     string            // Python source, %s is the function name
}

func (k kind) component(executor string) map[string]any {
	c := map[string]any{"executorLabel": executor}
	in, out := map[string]any{}, map[string]any{}
	if len(k.inputs) > 0 {
		ps := map[string]any{}
		for n, t := range k.inputs {
			ps[n] = map[string]any{"parameterType": t}
		}
		in["parameters"] = ps
	}
	if len(k.inArts) > 0 {
		in["artifacts"] = datasets(k.inArts)
	}
	if k.output != "" {
		out["parameters"] = map[string]any{"Output": map[string]any{"parameterType": k.output}}
	}
	if len(k.outArts) > 0 {
		out["artifacts"] = datasets(k.outArts)
	}
	if len(in) > 0 {
		c["inputDefinitions"] = in
	}
	if len(out) > 0 {
		c["outputDefinitions"] = out
	}
	return c
}

func datasets(names []string) map[string]any {
	m := map[string]any{}
	for _, n := range names {
		m[n] = map[string]any{"artifactType": map[string]any{"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}}
	}
	return m
}

func (k kind) source(fn string) string {
	return "\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n" + fmt.Sprintf(k.body, fn)
}

var (
	kindProduce = kind{function: "produce", inputs: map[string]string{"text": "STRING"}, output: "STRING",
		body: "def %s(text: str) -> str:\n    \"\"\"Start a chain from a pipeline parameter.\"\"\"\n    return text.upper()\n\n"}
	kindProcess = kind{function: "process", inputs: map[string]string{"msg": "STRING"}, output: "STRING",
		body: "def %s(msg: str) -> str:\n    \"\"\"One step of a chain.\"\"\"\n    print(msg)\n    return msg + '.'\n\n"}
	kindFlip = kind{function: "flip_coin", output: "STRING",
		body: "def %s() -> str:\n    \"\"\"Flip a coin and output heads or tails randomly.\"\"\"\n    import random\n    return 'heads' if random.randint(0, 1) == 0 else 'tails'\n\n"}
	kindMakeData = kind{function: "make_data", inputs: map[string]string{"msg": "STRING", "factor": "NUMBER_DOUBLE"}, outArts: []string{"out_data"},
		body: "def %s(msg: str, factor: float, out_data: Output[Dataset]):\n    \"\"\"Write a dataset.\"\"\"\n    with open(out_data.path, 'w') as f:\n        f.write(msg * int(factor + 1))\n    out_data.metadata['factor'] = factor\n\n"}
	kindReadData = kind{function: "read_data", inArts: []string{"data"}, output: "STRING",
		body: "def %s(data: Input[Dataset]) -> str:\n    \"\"\"Read a dataset.\"\"\"\n    with open(data.path) as f:\n        return f.read()\n\n"}
	kindPrintItem = kind{function: "print_item", inputs: map[string]string{"item": "NUMBER_INTEGER", "msg": "STRING"},
		body: "def %s(item: int, msg: str):\n    \"\"\"Loop body.\"\"\"\n    print(item, msg)\n\n"}
)

// The SDK's (2.14) executor preamble: pip bootstrap, then the program launcher that runs the function source.
const (
	pipBootstrap    = "\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip || python3 -m ensurepip --user || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'kfp==2.14.3' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"' && \"$0\" \"$@\"\n"
	programLauncher = "program_path=$(mktemp -d)\n\nprintf \"%s\" \"$0\" > \"$program_path/ephemeral_component.py\"\n_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main                         --component_module_path                         \"$program_path/ephemeral_component.py\"                         \"$@\"\n"
)

// Runs reads a generated pipeline (or any IR of that shape) and says how often each executor or group task runs
// at most, its static loops' items multiplied, and which run surely: outside every condition. Tests compare run
// records and node trees against it.
func Runs(ir []byte) (most map[string]int, sure map[string]bool, err error) {
	type task struct {
		ComponentRef      struct{ Name string }       `json:"componentRef"`
		TriggerPolicy     *struct{ Condition string } `json:"triggerPolicy"`
		ParameterIterator *struct {
			Items struct{ Raw string } `json:"items"`
		} `json:"parameterIterator"`
	}
	type component struct {
		DAG *struct {
			Tasks map[string]task `json:"tasks"`
		} `json:"dag"`
	}
	var spec struct {
		Components map[string]component `json:"components"`
		Root       component            `json:"root"`
	}
	if err := yaml.Unmarshal(ir, &spec); err != nil {
		return nil, nil, err
	}
	most, sure = map[string]int{}, map[string]bool{}
	var count func(c component, times int, certain bool, depth int) error
	count = func(c component, times int, certain bool, depth int) error {
		if c.DAG == nil || depth > 50 {
			return nil
		}
		for name, t := range c.DAG.Tasks {
			n := times
			if it := t.ParameterIterator; it != nil && it.Items.Raw != "" {
				var list []any
				if err := json.Unmarshal([]byte(it.Items.Raw), &list); err != nil {
					return fmt.Errorf("task %s: items %q: %w", name, it.Items.Raw, err)
				}
				n *= len(list)
			}
			most[name] += n
			inner := certain && (t.TriggerPolicy == nil || t.TriggerPolicy.Condition == "")
			sure[name] = inner
			if err := count(spec.Components[t.ComponentRef.Name], n, inner, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return most, sure, count(spec.Root, 1, true, 0)
}
