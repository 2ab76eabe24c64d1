package translate

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// kfp-kubernetes settings are applied when compiling, in the Argo template of the task's component: the
// manifest then says exactly what runs. Values the settings take from pipeline parameters or task outputs are
// resolved in the scope of the DAG that holds the task and reach the template as extra inputs named
// kfp-argo-k8s-<n>; where a Kubernetes field cannot hold an Argo tag (a whole JSON object), they go through the
// template's podSpecPatch.

const (
	platformParamPrefix = "kfp-argo-k8s-"
	workspaceVolume     = "kfp-workspace"
	// WorkspacePath is where the pipeline's workspace is mounted, the value of {{$.workspace_path}} (KFP's path).
	WorkspacePath = "/kfp-workspace"
)

// podConfig is what a task's kfp-kubernetes settings add to its template and to its DAG task.
type podConfig struct {
	env            []apiv1.EnvVar
	mounts         []apiv1.VolumeMount
	volumes        []apiv1.Volume
	nodeSelector   map[string]string
	tolerations    []apiv1.Toleration
	affinity       *apiv1.Affinity
	metadata       wfv1.Metadata
	pullPolicy     apiv1.PullPolicy
	deadline       int64
	security       *apiv1.SecurityContext
	initContainers []wfv1.UserContainer
	patch          map[string]any    // podSpecPatch fields; strings in raw are inserted as JSON text
	raw            map[string]string // sentinel -> Argo text that renders to JSON
	inputs         []wfv1.Parameter  // extra template inputs
	args           []wfv1.Parameter  // and their values in the DAG's scope
	deps           []string          // sibling tasks whose outputs the settings read
	key            string            // what makes the template differ between tasks (dropped optional settings)
	byParam        map[string]string // IR source -> template input reference, so one source is one input
}

// executorConfig returns the kfp-kubernetes settings of an executor and their IR path.
func (c *compiler) executorConfig(label string) (*KubernetesExecutorConfig, string) {
	if c.p.Platform == nil {
		return nil, ""
	}
	sp := c.p.Platform.Platforms["kubernetes"]
	if sp == nil || sp.DeploymentSpec == nil {
		return nil, ""
	}
	return sp.DeploymentSpec.Executors[label], fmt.Sprintf("(platform spec) platforms[\"kubernetes\"].deploymentSpec.executors[%q]", label)
}

// workspace returns the pipeline's workspace configuration, nil when it has none.
func (c *compiler) workspace() *WorkspaceConfig {
	if c.p.Platform == nil || c.p.Platform.Platforms["kubernetes"] == nil || c.p.Platform.Platforms["kubernetes"].PipelineConfig == nil {
		return nil
	}
	return c.p.Platform.Platforms["kubernetes"].PipelineConfig.Workspace
}

// checkPlatformSupport reports the parts of the platform document that kfp-argo cannot apply, naming them.
// pipelineConfigSettings applies dsl.PipelineConfig's TTLs and deadline; --ttl and --active-deadline, applied
// after it, win.
func (c *compiler) pipelineConfigSettings(wf *wfv1.Workflow) error {
	if c.p.Platform == nil || c.p.Platform.Platforms["kubernetes"] == nil || c.p.Platform.Platforms["kubernetes"].PipelineConfig == nil {
		return nil
	}
	pc := c.p.Platform.Platforms["kubernetes"].PipelineConfig
	base := `(platform spec) platforms["kubernetes"].pipelineConfig.`
	ttl := &wfv1.TTLStrategy{}
	for _, f := range []struct {
		v     int64
		name  string
		field **int32
	}{
		{pc.ResourceTTLOnCompletion, "resourceTtlOnCompletion", &ttl.SecondsAfterCompletion},
		{pc.ResourceTTLOnSuccess, "resourceTtlOnSuccess", &ttl.SecondsAfterSuccess},
		{pc.ResourceTTLOnFailure, "resourceTtlOnFailure", &ttl.SecondsAfterFailure},
	} {
		if f.v == 0 {
			continue // proto3's default: no TTL from this field
		}
		secs, err := int32In(float64(f.v), 1, math.MaxInt32, f.name)
		if err != nil {
			return pathErrorf(base+f.name, "%v", err)
		}
		*f.field = ptr(secs)
	}
	if *ttl != (wfv1.TTLStrategy{}) {
		wf.Spec.TTLStrategy = ttl
	}
	if pc.ActiveDeadlineSeconds < 0 {
		return pathErrorf(base+"activeDeadlineSeconds", "%d: expected 0 (no deadline) or more", pc.ActiveDeadlineSeconds)
	}
	if pc.ActiveDeadlineSeconds > 0 {
		wf.Spec.ActiveDeadlineSeconds = ptr(pc.ActiveDeadlineSeconds)
	}
	return nil
}

func (c *compiler) checkPlatformSupport() error {
	if c.p.Platform == nil {
		return nil
	}
	for _, name := range sortedMapKeys(c.p.Platform.Platforms) {
		sp := c.p.Platform.Platforms[name]
		if sp == nil {
			continue
		}
		base := fmt.Sprintf("(platform spec) platforms[%q]", name)
		// Every kfp-kubernetes setting ends up in the pod's spec (or the workflow's PVC) as it is: secret and
		// config map names and keys, env names, field paths, mount paths, node selectors, tolerations, volume
		// metadata, PVC patches. No pod-side code could decode them, so none may hold "{{".
		if err := checkVerbatimTree(base, reflect.ValueOf(sp)); err != nil {
			return err
		}
		if sp.Platform != "" || len(sp.Config) > 0 {
			return unsupported(base+".config", "platform config")
		}
		if pc := sp.PipelineConfig; pc != nil {
			switch {
			case pc.SemaphoreKey != "":
				return unsupported(base+".pipelineConfig.semaphoreKey", "pipeline semaphores (Argo's synchronization needs a ConfigMap that kfp-argo does not manage)")
			case pc.MutexName != "":
				return unsupported(base+".pipelineConfig.mutexName", "pipeline mutexes")
			case pc.ResourceTTL != 0:
				return unsupported(base+".pipelineConfig.resourceTtl", "pipeline resource TTL (use compile --ttl)")
			}
			if ws := pc.Workspace; ws != nil && ws.Size == "" {
				return pathErrorf(base+".pipelineConfig.workspace.size", "a workspace needs a size")
			}
		}
		if sp.DeploymentSpec == nil {
			continue
		}
		for _, label := range sortedMapKeys(sp.DeploymentSpec.Executors) {
			if c.s.DeploymentSpec.Executors[label] == nil {
				return pathErrorf(fmt.Sprintf("%s.deploymentSpec.executors[%q]", base, label), "the pipeline has no executor %q", label)
			}
			cfg := sp.DeploymentSpec.Executors[label]
			if cfg != nil && len(cfg.PodResourceClaims) > 0 {
				return unsupported(fmt.Sprintf("%s.deploymentSpec.executors[%q].podResourceClaims", base, label), "pod resource claims (dynamic resource allocation)")
			}
			if cfg != nil && c.s.DeploymentSpec.Executors[label].Container == nil {
				return unsupported(fmt.Sprintf("%s.deploymentSpec.executors[%q]", base, label), "kfp-kubernetes settings on an executor that runs no pod of its own")
			}
		}
	}
	return nil
}

// taskPlatform works out the settings of one task: its executor's kfp-kubernetes config with the values
// resolved in the DAG's scope, and the workspace mount.
func (c *compiler) taskPlatform(sc scope, t *TaskSpec, comp *ComponentSpec, tp string) (*podConfig, error) {
	pc := &podConfig{patch: map[string]any{}, raw: map[string]string{}, byParam: map[string]string{}}
	if c.workspace() != nil {
		// Where a path into the workspace travels is not visible when compiling (any parameter may carry
		// one), so every pod of a pipeline with a workspace mounts it.
		pc.mounts = append(pc.mounts, apiv1.VolumeMount{Name: workspaceVolume, MountPath: WorkspacePath})
		pc.key += "|workspace"
	}
	cfg, base := c.executorConfig(comp.ExecutorLabel)
	if cfg == nil {
		return pc, nil
	}
	r := &platformResolver{c: c, sc: sc, pc: pc}
	var present []string
	// name resolves a name that is either a parameter or a (deprecated) plain field; ok=false drops the
	// setting, which KFP does for an optional input that is not given.
	name := func(param *TaskInputParameter, plain, path string) (string, bool, error) {
		if param != nil {
			v, ok, err := r.value(param, TypeString, path)
			present = append(present, fmt.Sprint(ok))
			return v, ok, err
		}
		if plain == "" {
			return "", false, pathErrorf(path, "no name given")
		}
		return plain, true, nil
	}

	for i, s := range cfg.SecretAsEnv {
		p := fmt.Sprintf("%s.secretAsEnv[%d]", base, i)
		n, ok, err := name(s.SecretNameParameter, s.SecretName, p+".secretNameParameter")
		if err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		for j, k := range s.KeyToEnv {
			if k.EnvVar == "" || k.SecretKey == "" {
				return nil, pathErrorf(fmt.Sprintf("%s.keyToEnv[%d]", p, j), "needs secretKey and envVar")
			}
			pc.env = append(pc.env, apiv1.EnvVar{Name: k.EnvVar, ValueFrom: &apiv1.EnvVarSource{SecretKeyRef: &apiv1.SecretKeySelector{
				LocalObjectReference: apiv1.LocalObjectReference{Name: n}, Key: k.SecretKey, Optional: s.Optional,
			}}})
		}
	}
	for i, s := range cfg.ConfigMapAsEnv {
		p := fmt.Sprintf("%s.configMapAsEnv[%d]", base, i)
		n, ok, err := name(s.ConfigMapNameParameter, s.ConfigMapName, p+".configMapNameParameter")
		if err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		for j, k := range s.KeyToEnv {
			if k.EnvVar == "" || k.ConfigMapKey == "" {
				return nil, pathErrorf(fmt.Sprintf("%s.keyToEnv[%d]", p, j), "needs configMapKey and envVar")
			}
			pc.env = append(pc.env, apiv1.EnvVar{Name: k.EnvVar, ValueFrom: &apiv1.EnvVarSource{ConfigMapKeyRef: &apiv1.ConfigMapKeySelector{
				LocalObjectReference: apiv1.LocalObjectReference{Name: n}, Key: k.ConfigMapKey, Optional: s.Optional,
			}}})
		}
	}
	for i, f := range cfg.FieldPathAsEnv {
		if f.Name == "" || f.FieldPath == "" {
			return nil, pathErrorf(fmt.Sprintf("%s.fieldPathAsEnv[%d]", base, i), "needs name and fieldPath")
		}
		pc.env = append(pc.env, apiv1.EnvVar{Name: f.Name, ValueFrom: &apiv1.EnvVarSource{FieldRef: &apiv1.ObjectFieldSelector{FieldPath: f.FieldPath}}})
	}

	volume := func(v apiv1.Volume, mountPath, subPath, path string) error {
		if mountPath == "" {
			return pathErrorf(path+".mountPath", "a mount path is needed")
		}
		for _, m := range pc.mounts {
			if m.MountPath == mountPath {
				return pathErrorf(path+".mountPath", "%s is mounted twice", mountPath)
			}
		}
		for _, have := range pc.volumes {
			if have.Name == v.Name {
				return pathErrorf(path, "volume name %q is used twice", v.Name)
			}
		}
		if errs := validation.IsDNS1123Label(v.Name); len(errs) > 0 {
			return pathErrorf(path, "volume name %q: %s", v.Name, strings.Join(errs, "; "))
		}
		pc.volumes = append(pc.volumes, v)
		pc.mounts = append(pc.mounts, apiv1.VolumeMount{Name: v.Name, MountPath: mountPath, SubPath: subPath})
		return nil
	}
	for i, s := range cfg.SecretAsVolume {
		p := fmt.Sprintf("%s.secretAsVolume[%d]", base, i)
		n, ok, err := name(s.SecretNameParameter, s.SecretName, p+".secretNameParameter")
		if err != nil {
			return nil, err
		}
		if ok {
			if err := volume(apiv1.Volume{Name: fmt.Sprintf("kfp-secret-%d", i), VolumeSource: apiv1.VolumeSource{Secret: &apiv1.SecretVolumeSource{SecretName: n, Optional: s.Optional}}}, s.MountPath, "", p); err != nil {
				return nil, err
			}
		}
	}
	for i, s := range cfg.ConfigMapAsVolume {
		p := fmt.Sprintf("%s.configMapAsVolume[%d]", base, i)
		n, ok, err := name(s.ConfigMapNameParameter, s.ConfigMapName, p+".configMapNameParameter")
		if err != nil {
			return nil, err
		}
		if ok {
			v := apiv1.Volume{Name: fmt.Sprintf("kfp-configmap-%d", i), VolumeSource: apiv1.VolumeSource{ConfigMap: &apiv1.ConfigMapVolumeSource{LocalObjectReference: apiv1.LocalObjectReference{Name: n}, Optional: s.Optional}}}
			if err := volume(v, s.MountPath, "", p); err != nil {
				return nil, err
			}
		}
	}
	pvcNames := map[string]string{} // constant claim name -> volume name, for init containers
	for i, m := range cfg.PvcMount {
		p := fmt.Sprintf("%s.pvcMount[%d]", base, i)
		param := m.PvcNameParameter
		if param == nil {
			// The deprecated one-of says the same as pvcNameParameter.
			switch {
			case m.TaskOutputParameter != nil:
				param = &TaskInputParameter{TaskOutputParameter: m.TaskOutputParameter}
			case m.ComponentInputParameter != "":
				param = &TaskInputParameter{ComponentInputParameter: m.ComponentInputParameter}
			case m.Constant != "":
				param = &TaskInputParameter{RuntimeValue: &RuntimeValue{Constant: m.Constant}}
			}
		}
		n, ok, err := name(param, "", p+".pvcNameParameter")
		if err != nil {
			return nil, err
		}
		if ok {
			vn := fmt.Sprintf("kfp-pvc-%d", i)
			if !strings.Contains(n, "{{") {
				pvcNames[n] = vn
			}
			v := apiv1.Volume{Name: vn, VolumeSource: apiv1.VolumeSource{PersistentVolumeClaim: &apiv1.PersistentVolumeClaimVolumeSource{ClaimName: n}}}
			if err := volume(v, m.MountPath, m.SubPath, p); err != nil {
				return nil, err
			}
		}
	}
	for i, e := range cfg.EmptyDirMounts {
		p := fmt.Sprintf("%s.emptyDirMounts[%d]", base, i)
		src := &apiv1.EmptyDirVolumeSource{}
		if e.Medium != nil {
			switch apiv1.StorageMedium(*e.Medium) {
			case apiv1.StorageMediumDefault, apiv1.StorageMediumMemory:
				src.Medium = apiv1.StorageMedium(*e.Medium)
			default:
				return nil, pathErrorf(p+".medium", "expected \"\" or Memory, got %q", *e.Medium)
			}
		}
		if e.SizeLimit != nil && *e.SizeLimit != "" {
			q, err := resource.ParseQuantity(*e.SizeLimit)
			if err != nil {
				return nil, pathErrorf(p+".sizeLimit", "invalid quantity %q: %v", *e.SizeLimit, err)
			}
			src.SizeLimit = &q
		}
		if err := volume(apiv1.Volume{Name: e.VolumeName, VolumeSource: apiv1.VolumeSource{EmptyDir: src}}, e.MountPath, "", p); err != nil {
			return nil, err
		}
	}
	if shm := cfg.EnabledSharedMemory; shm != nil {
		p := base + ".enabledSharedMemory"
		vn := shm.VolumeName
		if vn == "" {
			vn = "shm"
		}
		src := &apiv1.EmptyDirVolumeSource{Medium: apiv1.StorageMediumMemory}
		if shm.Size != "" {
			q, err := resource.ParseQuantity(shm.Size)
			if err != nil {
				return nil, pathErrorf(p+".size", "invalid quantity %q: %v", shm.Size, err)
			}
			src.SizeLimit = &q
		}
		if err := volume(apiv1.Volume{Name: vn, VolumeSource: apiv1.VolumeSource{EmptyDir: src}}, "/dev/shm", "", p); err != nil {
			return nil, err
		}
	}
	for i, g := range cfg.GenericEphemeralVolume {
		p := fmt.Sprintf("%s.genericEphemeralVolume[%d]", base, i)
		spec := apiv1.PersistentVolumeClaimSpec{}
		for _, m := range g.AccessModes {
			spec.AccessModes = append(spec.AccessModes, apiv1.PersistentVolumeAccessMode(m))
		}
		if g.Size == "" {
			return nil, pathErrorf(p+".size", "a size is needed")
		}
		q, err := resource.ParseQuantity(g.Size)
		if err != nil {
			return nil, pathErrorf(p+".size", "invalid quantity %q: %v", g.Size, err)
		}
		spec.Resources.Requests = apiv1.ResourceList{apiv1.ResourceStorage: q}
		if !g.DefaultStorageClass {
			sc := g.StorageClassName
			spec.StorageClassName = &sc
		}
		tmpl := &apiv1.PersistentVolumeClaimTemplate{Spec: spec}
		if g.Metadata != nil {
			tmpl.ObjectMeta = metav1.ObjectMeta{Labels: g.Metadata.Labels, Annotations: g.Metadata.Annotations}
		}
		if err := volume(apiv1.Volume{Name: g.VolumeName, VolumeSource: apiv1.VolumeSource{Ephemeral: &apiv1.EphemeralVolumeSource{VolumeClaimTemplate: tmpl}}}, g.MountPath, "", p); err != nil {
			return nil, err
		}
	}

	if ns := cfg.NodeSelector; ns != nil {
		p := base + ".nodeSelector"
		if ns.NodeSelectorJSON != nil {
			// The JSON takes precedence over the labels, as in KFP.
			v, ok, err := r.value(ns.NodeSelectorJSON, TypeStruct, p+".nodeSelectorJson")
			if err != nil {
				return nil, err
			}
			present = append(present, fmt.Sprint(ok))
			if ok {
				pc.patch["nodeSelector"] = r.rawJSON(v)
			}
		} else if len(ns.Labels) > 0 {
			pc.nodeSelector = ns.Labels
		}
	}
	var staticTolerations []apiv1.Toleration
	var dynamicTolerations []string
	for i, tol := range cfg.Tolerations {
		p := fmt.Sprintf("%s.tolerations[%d]", base, i)
		if tol.TolerationJSON != nil {
			v, ok, err := r.value(tol.TolerationJSON, TypeStruct, p+".tolerationJson")
			if err != nil {
				return nil, err
			}
			present = append(present, fmt.Sprint(ok))
			if ok {
				dynamicTolerations = append(dynamicTolerations, v)
			}
			continue
		}
		staticTolerations = append(staticTolerations, apiv1.Toleration{
			Key: tol.Key, Operator: apiv1.TolerationOperator(tol.Operator), Value: tol.Value,
			Effect: apiv1.TaintEffect(tol.Effect), TolerationSeconds: tol.TolerationSeconds,
		})
	}
	if len(dynamicTolerations) == 0 {
		pc.tolerations = staticTolerations
	} else {
		// Tolerations have no merge key: a patch replaces the whole list, so the static ones go in it too.
		// A JSON value may be one toleration or a list of them.
		static, err := json.Marshal(staticTolerations)
		if err != nil {
			return nil, err
		}
		if staticTolerations == nil {
			static = []byte("[]")
		}
		parts := []string{"fromJSON(" + exprString(string(static)) + ")"}
		for _, v := range dynamicTolerations {
			j := "fromJSON(" + r.exprOf(v) + ")"
			parts = append(parts, fmt.Sprintf("(type(%[1]s) == 'array' ? %[1]s : [%[1]s])", j))
		}
		pc.patch["tolerations"] = r.rawText("{{=toJson(concat(" + strings.Join(parts, ", ") + "))}}")
	}

	aff := &apiv1.Affinity{}
	for i, term := range cfg.NodeAffinity {
		p := fmt.Sprintf("%s.nodeAffinity[%d]", base, i)
		if term.NodeAffinityJSON != nil {
			if len(cfg.NodeAffinity) > 1 {
				return nil, unsupported(p+".nodeAffinityJson", "node affinity JSON together with other node affinity terms")
			}
			v, ok, err := r.value(term.NodeAffinityJSON, TypeStruct, p+".nodeAffinityJson")
			if err != nil {
				return nil, err
			}
			present = append(present, fmt.Sprint(ok))
			if ok {
				pc.patch["affinity"] = map[string]any{"nodeAffinity": r.rawJSON(v)}
			}
			continue
		}
		nst := apiv1.NodeSelectorTerm{MatchExpressions: nodeRequirements(term.MatchExpressions), MatchFields: nodeRequirements(term.MatchFields)}
		if aff.NodeAffinity == nil {
			aff.NodeAffinity = &apiv1.NodeAffinity{}
		}
		if term.Weight != nil {
			w, err := int32In(float64(*term.Weight), 1, 100, "weight")
			if err != nil {
				return nil, pathErrorf(p+".weight", "%v", err)
			}
			aff.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(aff.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
				apiv1.PreferredSchedulingTerm{Weight: w, Preference: nst})
			continue
		}
		if aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
			aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &apiv1.NodeSelector{}
		}
		req := aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
		req.NodeSelectorTerms = append(req.NodeSelectorTerms, nst)
	}
	for i, term := range cfg.PodAffinity {
		p := fmt.Sprintf("%s.podAffinity[%d]", base, i)
		if term.TopologyKey == "" {
			return nil, pathErrorf(p+".topologyKey", "a topology key is needed")
		}
		at := apiv1.PodAffinityTerm{
			LabelSelector: labelSelector(term.MatchPodLabels, term.MatchPodExpressions),
			TopologyKey:   term.TopologyKey,
			Namespaces:    term.Namespaces,
		}
		if len(term.MatchNamespaceLabels) > 0 || len(term.MatchNamespaceExpressions) > 0 {
			at.NamespaceSelector = labelSelector(term.MatchNamespaceLabels, term.MatchNamespaceExpressions)
		}
		anti := term.Anti != nil && *term.Anti
		var required *[]apiv1.PodAffinityTerm
		var preferred *[]apiv1.WeightedPodAffinityTerm
		if anti {
			if aff.PodAntiAffinity == nil {
				aff.PodAntiAffinity = &apiv1.PodAntiAffinity{}
			}
			required, preferred = &aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		} else {
			if aff.PodAffinity == nil {
				aff.PodAffinity = &apiv1.PodAffinity{}
			}
			required, preferred = &aff.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &aff.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		}
		if term.Weight != nil {
			w, err := int32In(float64(*term.Weight), 1, 100, "weight")
			if err != nil {
				return nil, pathErrorf(p+".weight", "%v", err)
			}
			*preferred = append(*preferred, apiv1.WeightedPodAffinityTerm{Weight: w, PodAffinityTerm: at})
		} else {
			*required = append(*required, at)
		}
	}
	if aff.NodeAffinity != nil || aff.PodAffinity != nil || aff.PodAntiAffinity != nil {
		pc.affinity = aff
	}

	if md := cfg.PodMetadata; md != nil {
		pc.metadata = wfv1.Metadata{Labels: md.Labels, Annotations: md.Annotations}
		for _, k := range sortedMapKeys(md.Labels) {
			v := md.Labels[k]
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				return nil, pathErrorf(fmt.Sprintf("%s.podMetadata.labels[%q]", base, k), "%s", strings.Join(errs, "; "))
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return nil, pathErrorf(fmt.Sprintf("%s.podMetadata.labels[%q]", base, k), "%s", strings.Join(errs, "; "))
			}
		}
	}
	var pullSecrets []any
	for i, s := range cfg.ImagePullSecret {
		p := fmt.Sprintf("%s.imagePullSecret[%d]", base, i)
		n, ok, err := name(s.SecretNameParameter, s.SecretName, p+".secretNameParameter")
		if err != nil {
			return nil, err
		}
		if ok {
			pullSecrets = append(pullSecrets, map[string]any{"name": n})
		}
	}
	if len(pullSecrets) > 0 {
		// Argo has image pull secrets for the whole workflow only; a patch keeps them to this task's pods.
		pc.patch["imagePullSecrets"] = pullSecrets
	}
	switch apiv1.PullPolicy(cfg.ImagePullPolicy) {
	case "", apiv1.PullAlways, apiv1.PullNever, apiv1.PullIfNotPresent:
		pc.pullPolicy = apiv1.PullPolicy(cfg.ImagePullPolicy)
	default:
		return nil, pathErrorf(base+".imagePullPolicy", "expected Always, Never or IfNotPresent, got %q", cfg.ImagePullPolicy)
	}
	if cfg.ActiveDeadlineSeconds < 0 {
		return nil, pathErrorf(base+".activeDeadlineSeconds", "expected 0 or more, got %d", cfg.ActiveDeadlineSeconds)
	}
	pc.deadline = cfg.ActiveDeadlineSeconds
	if s := cfg.SecurityContext; s != nil {
		pc.security = &apiv1.SecurityContext{RunAsUser: s.RunAsUser, RunAsGroup: s.RunAsGroup, RunAsNonRoot: s.RunAsNonRoot}
	}
	for i, ic := range cfg.InitContainers {
		p := fmt.Sprintf("%s.initContainers[%d]", base, i)
		uc, err := initContainer(ic, pc, pvcNames, p)
		if err != nil {
			return nil, err
		}
		pc.initContainers = append(pc.initContainers, uc)
	}
	pc.key += "|present=" + strings.Join(present, ",")
	return pc, nil
}

func initContainer(ic InitContainer, pc *podConfig, pvcNames map[string]string, p string) (wfv1.UserContainer, error) {
	if errs := validation.IsDNS1123Label(ic.Name); len(errs) > 0 || ic.Name == "main" || ic.Name == "init" || ic.Name == "wait" {
		return wfv1.UserContainer{}, pathErrorf(p+".name", "init container name %q: a DNS label other than Argo's main, init and wait is needed", ic.Name)
	}
	if ic.Image == "" {
		return wfv1.UserContainer{}, pathErrorf(p+".image", "an image is needed")
	}
	ctr := apiv1.Container{Name: ic.Name, Image: ic.Image, Command: ic.Command, Args: ic.Args}
	// "{{" anywhere in an init container was rejected with the rest of the platform spec (checkPlatformSupport):
	// it has no launcher that could decode an inert value.
	for _, e := range ic.Env {
		ctr.Env = append(ctr.Env, apiv1.EnvVar{Name: e.Name, Value: e.Value})
	}
	for j, m := range ic.VolumeMounts {
		vn := m.VolumeName
		if v, ok := pvcNames[vn]; ok {
			vn = v // KFP names a PVC's volume after the claim
		}
		found := false
		for _, v := range pc.volumes {
			found = found || v.Name == vn
		}
		if !found {
			return wfv1.UserContainer{}, pathErrorf(fmt.Sprintf("%s.volumeMounts[%d].volumeName", p, j), "no volume %q is defined for this task (emptyDirMounts, genericEphemeralVolume, enabledSharedMemory or a pvcMount with a constant name)", m.VolumeName)
		}
		ctr.VolumeMounts = append(ctr.VolumeMounts, apiv1.VolumeMount{Name: vn, MountPath: m.MountPath})
	}
	if ic.RestartPolicy != nil {
		if *ic.RestartPolicy != string(apiv1.ContainerRestartPolicyAlways) {
			return wfv1.UserContainer{}, pathErrorf(p+".restartPolicy", "only Always is defined, got %q", *ic.RestartPolicy)
		}
		rp := apiv1.ContainerRestartPolicyAlways
		ctr.RestartPolicy = &rp
	}
	if res := ic.Resources; res != nil {
		for _, part := range []struct {
			in   map[string]string
			out  *apiv1.ResourceList
			name string
		}{{res.Requests, &ctr.Resources.Requests, "requests"}, {res.Limits, &ctr.Resources.Limits, "limits"}} {
			for _, k := range sortedMapKeys(part.in) {
				q, err := resource.ParseQuantity(part.in[k])
				if err != nil {
					return wfv1.UserContainer{}, pathErrorf(fmt.Sprintf("%s.resources.%s[%q]", p, part.name, k), "invalid quantity %q: %v", part.in[k], err)
				}
				if *part.out == nil {
					*part.out = apiv1.ResourceList{}
				}
				(*part.out)[apiv1.ResourceName(k)] = q
			}
		}
	}
	return wfv1.UserContainer{Container: ctr}, nil
}

func nodeRequirements(in []SelectorRequirement) []apiv1.NodeSelectorRequirement {
	var out []apiv1.NodeSelectorRequirement
	for _, r := range in {
		out = append(out, apiv1.NodeSelectorRequirement{Key: r.Key, Operator: apiv1.NodeSelectorOperator(r.Operator), Values: r.Values})
	}
	return out
}

func labelSelector(labels map[string]string, exprs []SelectorRequirement) *metav1.LabelSelector {
	ls := &metav1.LabelSelector{MatchLabels: labels}
	for _, r := range exprs {
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: r.Key, Operator: metav1.LabelSelectorOperator(r.Operator), Values: r.Values})
	}
	return ls
}

// platformResolver turns the InputParameterSpecs of kfp-kubernetes settings into template inputs.
type platformResolver struct {
	c  *compiler
	sc scope
	pc *podConfig
}

// value returns the Argo text of a setting's value inside the template: a constant as it is, anything else as
// an extra template input whose argument the DAG task gives. ok=false: an input of the enclosing DAG that is
// not given, which drops the setting.
func (r *platformResolver) value(ip *TaskInputParameter, typ, path string) (string, bool, error) {
	var arg string
	switch {
	case ip.RuntimeValue != nil:
		if s, ok := ip.RuntimeValue.Constant.(string); ok && typ == TypeString {
			if strings.Contains(s, "{{") {
				return "", false, pathErrorf(path+".runtimeValue.constant", "a name with \"{{\" is not a Kubernetes name")
			}
			return s, s != "", nil
		}
		text, err := compactJSON(ip.RuntimeValue.Constant)
		if err != nil {
			return "", false, pathErrorf(path+".runtimeValue.constant", "%v", err)
		}
		return text, true, nil
	case ip.ComponentInputParameter != "":
		ref, ok := r.sc.inputs[ip.ComponentInputParameter]
		if !ok {
			return "", false, nil
		}
		arg = ref
	case ip.TaskOutputParameter != nil:
		ref := ip.TaskOutputParameter
		if r.sc.tasks[ref.ProducerTask] == nil {
			return "", false, pathErrorf(path+".taskOutputParameter.producerTask", "task %q is not in the DAG of a task that uses these settings", ref.ProducerTask)
		}
		if r.sc.virtual[ref.ProducerTask] != nil {
			return "", false, pathErrorf(path+".taskOutputParameter", "an importer has no output parameters")
		}
		if err := checkOutputRef(r.c.s, r.sc.tasks, ref.ProducerTask, ref.OutputParameterKey, false, path+".taskOutputParameter"); err != nil {
			return "", false, err
		}
		arg = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", fieldName(ref.ProducerTask), paramName(ref.OutputParameterKey))
		r.pc.deps = append(r.pc.deps, ref.ProducerTask)
	default:
		return "", false, pathErrorf(path, "expected componentInputParameter, taskOutputParameter or runtimeValue")
	}
	key := digestOf(ip)
	if ref, ok := r.pc.byParam[key]; ok {
		return ref, true, nil
	}
	name := fmt.Sprintf("%s%d", platformParamPrefix, len(r.pc.inputs))
	r.pc.inputs = append(r.pc.inputs, wfv1.Parameter{Name: name})
	r.pc.args = append(r.pc.args, wfv1.Parameter{Name: name, Value: wfv1.AnyStringPtr(arg)})
	ref := "{{inputs.parameters." + name + "}}"
	r.pc.byParam[key] = ref
	return ref, true, nil
}

// rawJSON marks a value as JSON text for the podSpecPatch: a constant's JSON, or a tag that renders to it.
func (r *platformResolver) rawJSON(v string) string { return r.rawText(v) }

func (r *platformResolver) rawText(text string) string {
	s := fmt.Sprintf("@@kfp-argo-raw-%d@@", len(r.pc.raw))
	r.pc.raw[s] = text
	return s
}

// exprOf is a value as an expr-lang string expression: the template input, or a constant's text.
func (r *platformResolver) exprOf(v string) string {
	if strings.HasPrefix(v, "{{inputs.parameters.") {
		return fmt.Sprintf("inputs.parameters[%s]", exprString(strings.TrimSuffix(strings.TrimPrefix(v, "{{inputs.parameters."), "}}")))
	}
	return exprString(v)
}

// apply adds the settings to a container template.
func (pc *podConfig) apply(tmpl *wfv1.Template) error {
	if pc == nil {
		return nil
	}
	ctr := tmpl.Container
	ctr.Env = append(ctr.Env, pc.env...)
	ctr.VolumeMounts = append(ctr.VolumeMounts, pc.mounts...)
	if pc.pullPolicy != "" {
		ctr.ImagePullPolicy = pc.pullPolicy
	}
	ctr.SecurityContext = pc.security
	tmpl.Volumes = append(tmpl.Volumes, pc.volumes...)
	// The accelerator may already have chosen a node label; the platform's selector adds to it.
	for k, v := range pc.nodeSelector {
		if tmpl.NodeSelector == nil {
			tmpl.NodeSelector = map[string]string{}
		}
		tmpl.NodeSelector[k] = v
	}
	tmpl.Tolerations = pc.tolerations
	tmpl.Affinity = pc.affinity
	tmpl.Metadata = pc.metadata
	tmpl.InitContainers = append(tmpl.InitContainers, pc.initContainers...)
	if pc.deadline > 0 {
		d := intstr.FromInt(int(pc.deadline))
		tmpl.ActiveDeadlineSeconds = &d
	}
	tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, pc.inputs...)
	if len(pc.patch) == 0 {
		return nil
	}
	patch := map[string]any{}
	if tmpl.PodSpecPatch != "" {
		if err := json.Unmarshal([]byte(tmpl.PodSpecPatch), &patch); err != nil {
			return err
		}
	}
	for k, v := range pc.patch {
		patch[k] = v
	}
	blob, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	text := string(blob)
	sentinels := make([]string, 0, len(pc.raw))
	for s := range pc.raw {
		sentinels = append(sentinels, s)
	}
	sort.Strings(sentinels)
	for _, s := range sentinels {
		text = strings.ReplaceAll(text, `"`+s+`"`, pc.raw[s])
	}
	tmpl.PodSpecPatch = text
	return nil
}

// workspacePath is the value of {{$.workspace_path}}; without a workspace the placeholder has no meaning.
func (c *compiler) workspacePath(path string) (string, error) {
	if c.workspace() == nil {
		return "", pathErrorf(path, "{{$.workspace_path}} needs a workspace (PipelineConfig workspace) in the platform spec")
	}
	return WorkspacePath, nil
}

// workspaceClaim adds the pipeline's workspace as a volume claim template: Argo creates the claim when the run
// starts and deletes it when the run ends (volumeClaimGC), and every pod mounts it at WorkspacePath.
func (c *compiler) workspaceClaim(wf *wfv1.Workflow) error {
	ws := c.workspace()
	if ws == nil {
		return nil
	}
	path := "(platform spec) platforms[\"kubernetes\"].pipelineConfig.workspace"
	spec := apiv1.PersistentVolumeClaimSpec{}
	if ws.Kubernetes != nil && ws.Kubernetes.PvcSpecPatch != nil {
		blob, err := json.Marshal(ws.Kubernetes.PvcSpecPatch)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(strings.NewReader(string(blob)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return pathErrorf(path+".kubernetes.pvcSpecPatch", "not a PersistentVolumeClaimSpec: %v", err)
		}
	}
	q, err := resource.ParseQuantity(ws.Size)
	if err != nil {
		return pathErrorf(path+".size", "invalid quantity %q: %v", ws.Size, err)
	}
	if spec.Resources.Requests == nil {
		spec.Resources.Requests = apiv1.ResourceList{}
	}
	// The size wins over a storage request in the patch, as in KFP.
	spec.Resources.Requests[apiv1.ResourceStorage] = q
	if len(spec.AccessModes) == 0 {
		// KFP takes the default from its API server's configuration; a claim needs one.
		spec.AccessModes = []apiv1.PersistentVolumeAccessMode{apiv1.ReadWriteOnce}
	}
	wf.Spec.VolumeClaimTemplates = []apiv1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: workspaceVolume}, Spec: spec}}
	return nil
}
