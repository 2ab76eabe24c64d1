package translate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kfp-argo/kfp-argo/argo"
)

// renderedPatch parses a rendered template's podSpecPatch the way Argo does (YAML or JSON into a PodSpec).
func renderedPatch(t *testing.T, tmpl *wfv1.Template) apiv1.PodSpec {
	t.Helper()
	var spec apiv1.PodSpec
	if err := yaml.UnmarshalStrict([]byte(tmpl.PodSpecPatch), &spec); err != nil {
		t.Fatalf("rendered podSpecPatch %q: %v", tmpl.PodSpecPatch, err)
	}
	return spec
}

func envNamed(t *testing.T, env []apiv1.EnvVar, name string) *apiv1.EnvVar {
	t.Helper()
	for i := range env {
		if env[i].Name == name {
			return &env[i]
		}
	}
	return nil
}

// TestPlatformEnv: secret and config map names from a constant, a pipeline parameter and a task output reach
// the container once Argo rendered them; a setting whose optional input is not given is dropped, as in KFP.
func TestPlatformEnv(t *testing.T) {
	wf := compileFixture(t, "platform-env.yaml", Options{Parameters: map[string]any{"secret_name": "from-p"}})
	task := dagTask(t, wf, "show")
	if task.Depends != "name" {
		t.Errorf("show depends on %q, want the producer of its secret name", task.Depends)
	}
	tmpl := renderTask(t, wf, task, globals(wf, nil), map[string]string{"tasks.name.outputs.parameters.Output": "other-secret"})
	want := map[string]string{"DB_USER": "from-p", "STATIC_PASSWORD": "static-secret", "OTHER": "other-secret"}
	for env, secret := range want {
		e := envNamed(t, tmpl.Container.Env, env)
		if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != secret {
			t.Errorf("%s = %+v, want from secret %q", env, e, secret)
		}
	}
	if e := envNamed(t, tmpl.Container.Env, "SETTING"); e != nil {
		t.Errorf("SETTING from a config map whose optional name is not given: %+v", e)
	}
	if e := envNamed(t, tmpl.Container.Env, "MODE"); e == nil || e.ValueFrom.ConfigMapKeyRef.Name != "app-config" || e.ValueFrom.ConfigMapKeyRef.Key != "mode" {
		t.Errorf("MODE = %+v", e)
	}
	if e := envNamed(t, tmpl.Container.Env, "POD_NAMESPACE"); e == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("POD_NAMESPACE = %+v", e)
	}
	if tmpl.Container.ImagePullPolicy != apiv1.PullIfNotPresent {
		t.Errorf("imagePullPolicy %q", tmpl.Container.ImagePullPolicy)
	}
	// Given a value, the optional config map is used.
	wf = compileFixture(t, "platform-env.yaml", Options{Parameters: map[string]any{"optional_config": "cfg"}})
	tmpl = renderTask(t, wf, dagTask(t, wf, "show"), globals(wf, nil), map[string]string{"tasks.name.outputs.parameters.Output": "x"})
	if e := envNamed(t, tmpl.Container.Env, "SETTING"); e == nil || e.ValueFrom.ConfigMapKeyRef.Name != "cfg" || e.ValueFrom.ConfigMapKeyRef.Optional == nil || !*e.ValueFrom.ConfigMapKeyRef.Optional {
		t.Errorf("SETTING = %+v", e)
	}
}

// TestPlatformScheduling: JSON values from parameters reach the pod through the podSpecPatch, which Argo
// renders per task; a toleration JSON may be one toleration or a list; static settings stay template fields.
func TestPlatformScheduling(t *testing.T) {
	wf := compileFixture(t, "platform-scheduling.yaml", Options{})
	for _, tc := range []struct {
		name        string
		overrides   map[string]string
		tolerations []string
	}{
		{"defaults", nil, []string{"nvidia.com/gpu", "spot"}},
		{"one toleration", map[string]string{"extra_tolerations": `{"key":"single","operator":"Exists"}`}, []string{"nvidia.com/gpu", "single"}},
		{"empty list", map[string]string{"extra_tolerations": `[]`, "selector": `{"a":"b","c":"d"}`}, []string{"nvidia.com/gpu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := renderTask(t, wf, dagTask(t, wf, "train"), globals(wf, tc.overrides), nil)
			spec := renderedPatch(t, tmpl)
			var keys []string
			for _, tol := range spec.Tolerations {
				keys = append(keys, tol.Key)
			}
			if strings.Join(keys, ",") != strings.Join(tc.tolerations, ",") {
				t.Errorf("tolerations %v, want %v", keys, tc.tolerations)
			}
			wantSel := map[string]string{"pool": "gpu"}
			if tc.overrides["selector"] != "" {
				wantSel = map[string]string{"a": "b", "c": "d"}
			}
			if len(spec.NodeSelector) != len(wantSel) || spec.NodeSelector["pool"] != wantSel["pool"] || spec.NodeSelector["a"] != wantSel["a"] {
				t.Errorf("nodeSelector %v, want %v", spec.NodeSelector, wantSel)
			}
			if len(spec.ImagePullSecrets) != 2 || spec.ImagePullSecrets[0].Name != "registry-creds" || spec.ImagePullSecrets[1].Name != "static-creds" {
				t.Errorf("imagePullSecrets %v", spec.ImagePullSecrets)
			}
			if tmpl.Metadata.Labels["team"] != "ml" || tmpl.ActiveDeadlineSeconds == nil || tmpl.ActiveDeadlineSeconds.IntValue() != 3600 {
				t.Errorf("metadata %v, deadline %v", tmpl.Metadata, tmpl.ActiveDeadlineSeconds)
			}
			if sc := tmpl.Container.SecurityContext; sc == nil || *sc.RunAsUser != 1000 || !*sc.RunAsNonRoot {
				t.Errorf("securityContext %+v", sc)
			}
		})
	}
	ev := templateNamed(t, wf, "comp-evaluate")
	if ev.PodSpecPatch != "" || ev.NodeSelector["disktype"] != "ssd" || len(ev.Tolerations) != 1 || *ev.Tolerations[0].TolerationSeconds != 60 {
		t.Errorf("static settings: patch %q, nodeSelector %v, tolerations %+v", ev.PodSpecPatch, ev.NodeSelector, ev.Tolerations)
	}
	na := ev.Affinity.NodeAffinity
	if len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) != 1 || len(na.PreferredDuringSchedulingIgnoredDuringExecution) != 1 || na.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight != 10 {
		t.Errorf("node affinity %+v", na)
	}
	if len(ev.Affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 || len(ev.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("pod affinity %+v", ev.Affinity)
	}
}

// TestPlatformVolumes: the claim CreatePVC makes is named after the run and flows to the mount and to DeletePVC.
func TestPlatformVolumes(t *testing.T) {
	wf := compileFixture(t, "platform-volumes.yaml", Options{})
	create := renderTask(t, wf, dagTask(t, wf, "createpvc"), globals(wf, nil), nil)
	if create.Resource == nil || create.Resource.Action != "create" {
		t.Fatalf("createpvc is not a resource template: %+v", create)
	}
	var pvc apiv1.PersistentVolumeClaim
	if err := yaml.UnmarshalStrict([]byte(create.Resource.Manifest), &pvc); err != nil {
		t.Fatalf("rendered manifest %q: %v", create.Resource.Manifest, err)
	}
	if pvc.Name != wfName+"-data" || len(pvc.Spec.AccessModes) != 1 || pvc.Spec.AccessModes[0] != apiv1.ReadWriteOnce ||
		pvc.Spec.Resources.Requests.Storage().String() != "1Gi" || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "standard" {
		t.Errorf("claim %+v", pvc)
	}
	outs := map[string]string{"tasks.createpvc.outputs.parameters.name": wfName + "-data"}
	use := dagTask(t, wf, "use")
	if use.Depends != "createpvc" {
		t.Errorf("use depends on %q", use.Depends)
	}
	tmpl := renderTask(t, wf, use, globals(wf, nil), outs)
	vols := map[string]apiv1.Volume{}
	for _, v := range tmpl.Volumes {
		vols[v.Name] = v
	}
	if v := vols["kfp-pvc-0"]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != wfName+"-data" {
		t.Errorf("pvc volume %+v", v)
	}
	if v := vols["kfp-secret-0"]; v.Secret == nil || v.Secret.SecretName != "tls" {
		t.Errorf("secret volume %+v", v)
	}
	if v := vols["shm"]; v.EmptyDir == nil || v.EmptyDir.Medium != apiv1.StorageMediumMemory {
		t.Errorf("shared memory %+v", v)
	}
	if v := vols["cache"]; v.Ephemeral == nil || *v.Ephemeral.VolumeClaimTemplate.Spec.StorageClassName != "fast" {
		t.Errorf("ephemeral volume %+v", v)
	}
	mounts := map[string]string{}
	for _, m := range tmpl.Container.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	for path, vol := range map[string]string{"/data": "kfp-pvc-0", "/mnt/secret": "kfp-secret-0", "/mnt/config": "kfp-configmap-0", "/scratch": "scratch", "/dev/shm": "shm", "/cache": "cache"} {
		if mounts[path] != vol {
			t.Errorf("mount %s = %q, want %q", path, mounts[path], vol)
		}
	}
	if len(tmpl.InitContainers) != 1 || tmpl.InitContainers[0].VolumeMounts[0].Name != "scratch" {
		t.Errorf("init containers %+v", tmpl.InitContainers)
	}
	del := renderTask(t, wf, dagTask(t, wf, "deletepvc"), globals(wf, nil), outs)
	if del.Resource.Action != "delete" || !strings.Contains(del.Resource.Manifest, `"name":"`+wfName+`-data"`) {
		t.Errorf("deletepvc %+v", del.Resource)
	}
}

// TestWorkspace: one claim per run, mounted in every pod; {{$.workspace_path}} is its mount path.
func TestWorkspace(t *testing.T) {
	wf := compileFixture(t, "workspace.yaml", Options{})
	if n := len(wf.Spec.VolumeClaimTemplates); n != 1 {
		t.Fatalf("%d volume claim templates", n)
	}
	claim := wf.Spec.VolumeClaimTemplates[0]
	if claim.Name != workspaceVolume || claim.Spec.Resources.Requests.Storage().String() != "2Gi" || claim.Spec.AccessModes[0] != apiv1.ReadWriteMany || *claim.Spec.StorageClassName != "nfs" {
		t.Errorf("claim %+v", claim)
	}
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Container == nil {
			continue
		}
		found := false
		for _, m := range tmpl.Container.VolumeMounts {
			found = found || (m.Name == workspaceVolume && m.MountPath == WorkspacePath)
		}
		if !found {
			t.Errorf("%s does not mount the workspace", tmpl.Name)
		}
	}
	write := renderTask(t, wf, dagTask(t, wf, "write"), globals(wf, nil), nil)
	if !strings.Contains(strings.Join(write.Container.Command, " "), " "+WorkspacePath+" ") {
		t.Errorf("write's dir is not the workspace: %q", write.Container.Command)
	}
	read := templateNamed(t, wf, dagTask(t, wf, "read").Template)
	if cmd := read.Container.Command; cmd[len(cmd)-1] != WorkspacePath {
		t.Errorf("read's command ends with %q", cmd[len(cmd)-1])
	}
}

// TestPlatformErrors: unknown fields are decode errors with their IR path; fields kfp-argo cannot apply are
// compile errors naming them.
func TestPlatformErrors(t *testing.T) {
	base := `
components:
  comp-a: {executorLabel: exec-a}
deploymentSpec:
  executors:
    exec-a:
      container: {image: alpine, command: [sh, -c, '%s']}
pipelineInfo: {name: p}
root:
  dag:
    tasks:
      a:
        componentRef: {name: comp-a}
        taskInfo: {name: a}
%s
schemaVersion: 2.1.0
---
platforms:
  kubernetes:
%s
`
	for _, tc := range []struct {
		name, command, extra, platform string
		load, unsupported              bool
		want                           string
	}{
		{"unknown field", "true", "", "    deploymentSpec:\n      executors:\n        exec-a:\n          secretAsEnv:\n          - {secretName: s, keyToEnvs: []}", true, false,
			`(document 2) platforms["kubernetes"].deploymentSpec.executors["exec-a"].secretAsEnv[0].keyToEnvs: unknown field "keyToEnvs"`},
		{"wrong type", "true", "", "    deploymentSpec:\n      executors:\n        exec-a:\n          activeDeadlineSeconds: soon", true, false,
			`(document 2) platforms["kubernetes"].deploymentSpec.executors["exec-a"].activeDeadlineSeconds: expected an integer`},
		{"resource claims", "true", "", "    deploymentSpec:\n      executors:\n        exec-a:\n          podResourceClaims: [{resourceClaimTemplateName: gpu}]", false, true,
			`(platform spec) platforms["kubernetes"].deploymentSpec.executors["exec-a"].podResourceClaims: pod resource claims`},
		{"semaphore", "true", "", "    pipelineConfig: {semaphoreKey: k}", false, true,
			`(platform spec) platforms["kubernetes"].pipelineConfig.semaphoreKey: pipeline semaphores`},
		{"workspace path without workspace", "ls {{$.workspace_path}}", "", "    deploymentSpec: {executors: {}}", false, false,
			`deploymentSpec.executors["exec-a"].container.command[2]: {{$.workspace_path}} needs a workspace`},
		{"braces in pod metadata", "true", "", "    deploymentSpec:\n      executors:\n        exec-a:\n          podMetadata: {annotations: {a: '{{x}}'}}", false, false,
			`podMetadata.annotations["a"]: "{{x}}": Argo would evaluate`},
		{"producer outside the DAG", "true", "", "    deploymentSpec:\n      executors:\n        exec-a:\n          pvcMount:\n          - mountPath: /d\n            pvcNameParameter: {taskOutputParameter: {producerTask: elsewhere, outputParameterKey: name}}", false, false,
			`pvcMount[0].pvcNameParameter.taskOutputParameter.producerTask: task "elsewhere" is not in the DAG`},
		{"bad pull policy", "true", "", "    deploymentSpec:\n      executors:\n        exec-a:\n          imagePullPolicy: Sometimes", false, false,
			`imagePullPolicy: expected Always, Never or IfNotPresent`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := strings.Replace(base, "'%s'", "'"+tc.command+"'", 1)
			spec = strings.Replace(spec, "%s\nschemaVersion", tc.extra+"\nschemaVersion", 1)
			spec = strings.Replace(spec, "%s\n", tc.platform+"\n", 1)
			p, err := Load("p.yaml", []byte(spec))
			if !tc.load && err == nil {
				_, err = Compile(p, Options{})
			} else if tc.load && err == nil {
				t.Fatal("loaded")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "p.yaml: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to name the file and contain %q", err, tc.want)
			}
			if errors.Is(err, ErrUnsupported) != tc.unsupported {
				t.Errorf("errors.Is(ErrUnsupported) = %v: %v", !tc.unsupported, err)
			}
		})
	}
}

// TestOutputKinds: every fixture, as a WorkflowTemplate and as a CronWorkflow, passes Argo's validator for that
// kind; the pipeline inputs stay arguments; the CronWorkflow writes `schedules`, never `schedule`.
func TestOutputKinds(t *testing.T) {
	for _, name := range []string{"container-io.yaml", "python-io.yaml", "control-flow.yaml", "platform-env.yaml", "platform-volumes.yaml", "platform-scheduling.yaml", "workspace.yaml"} {
		wf := compileFixture(t, name, Options{})
		wt, err := ToWorkflowTemplate(wf)
		if err != nil {
			t.Fatal(err)
		}
		if err := argo.ValidateWorkflowTemplate(wt); err != nil {
			t.Errorf("%s as WorkflowTemplate: %v", name, err)
		}
		if wt.Name == "" || wt.GenerateName != "" || len(wt.Spec.Arguments.Parameters) != len(wf.Spec.Arguments.Parameters) {
			t.Errorf("%s: template name %q/%q, %d arguments", name, wt.Name, wt.GenerateName, len(wt.Spec.Arguments.Parameters))
		}
		if wt.Spec.WorkflowMetadata == nil || wt.Spec.WorkflowMetadata.Labels[LabelManagedBy] != ManagedByValue || wt.Spec.WorkflowMetadata.Annotations[AnnotationIRDigest] == "" {
			t.Errorf("%s: the workflows made from the template would not carry kfp-argo's metadata", name)
		}
		cron, err := ToCronWorkflow(wf, CronOptions{Schedules: []string{"0 3 * * *", "30 4 * * 1"}, Timezone: "Europe/Paris", ConcurrencyPolicy: "Forbid"})
		if err != nil {
			t.Fatal(err)
		}
		if err := argo.ValidateCronWorkflow(cron); err != nil {
			t.Errorf("%s as CronWorkflow: %v", name, err)
		}
		out, err := argo.Marshal(cron, "yaml")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), "\n  schedules:\n") || strings.Contains(string(out), "\n  schedule:") {
			t.Errorf("%s: CronWorkflow schedule fields:\n%s", name, out)
		}
	}
	wf := compileFixture(t, "container-io.yaml", Options{})
	for _, o := range []CronOptions{{}, {Schedules: []string{"0 3 * * *"}, ConcurrencyPolicy: "Sometimes"}, {Schedules: []string{"0 3 * * *"}, Timezone: "Mars/Olympus"}} {
		if _, err := ToCronWorkflow(wf, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	bad, _ := ToCronWorkflow(wf, CronOptions{Schedules: []string{"not a schedule"}})
	if err := argo.ValidateCronWorkflow(bad); err == nil {
		t.Error("Argo's validator accepted an invalid schedule")
	}
}

func TestPlatformDecodeRoundTrip(t *testing.T) {
	p, err := LoadFile("../testdata/pipelines/platform-volumes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.Platform.Platforms["kubernetes"].DeploymentSpec.Executors["exec-use"]
	b, _ := json.Marshal(cfg.InitContainers)
	if cfg.PvcMount[0].SubPath != "run" || cfg.EnabledSharedMemory.Size != "256Mi" || !strings.Contains(string(b), `"volumeName":"scratch"`) {
		t.Errorf("decoded %+v", cfg)
	}
}
