package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/argoproj/argo-workflows/v3/pkg/apis/workflow"
	corev1 "k8s.io/api/core/v1"
	apierr "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"
)

// resourceAction does what `argoexec resource` does in the main container of
// an Argo resource template (KFP's CreatePVC / DeletePVC compile to these):
// it performs the action on the template's manifest and evaluates the
// jsonPath output parameters on the resulting object. Actions: create,
// apply, delete, get, patch, replace. successCondition, failureCondition and
// jqFilter outputs are not evaluated.
func (s *StandIn) resourceAction(ctx context.Context, pod *corev1.Pod, t Task) (map[string]string, error) {
	r := t.Template.Resource
	var u unstructured.Unstructured
	js, err := yaml.YAMLToJSON([]byte(r.Manifest))
	if err != nil {
		return nil, fmt.Errorf("resource manifest: %w", err)
	}
	if err := u.UnmarshalJSON(js); err != nil {
		return nil, fmt.Errorf("resource manifest: %w", err)
	}
	gvk := u.GroupVersionKind()
	mapping, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		s.mapper.Reset()
		if mapping, err = s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("resource %s: %w", gvk, err)
		}
	}
	var ri dynamic.ResourceInterface = s.dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(pod.Namespace)
		}
		ri = s.dynamic.Resource(mapping.Resource).Namespace(u.GetNamespace())
	}
	if r.SetOwnerReference {
		for _, o := range pod.OwnerReferences {
			if o.Kind == workflow.WorkflowKind {
				u.SetOwnerReferences(append(u.GetOwnerReferences(), o))
			}
		}
	}

	var obj *unstructured.Unstructured
	switch r.Action {
	case "create":
		if u.GetName() == "" && u.GetGenerateName() == "" {
			return nil, fmt.Errorf("resource create: manifest has no name")
		}
		obj, err = ri.Create(ctx, &u, metav1.CreateOptions{})
	case "apply":
		body, _ := u.MarshalJSON()
		force := true
		obj, err = ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "argoexec", Force: &force})
	case "replace":
		var cur *unstructured.Unstructured
		if cur, err = ri.Get(ctx, u.GetName(), metav1.GetOptions{}); err == nil {
			u.SetResourceVersion(cur.GetResourceVersion())
			obj, err = ri.Update(ctx, &u, metav1.UpdateOptions{})
		}
	case "patch":
		pt := types.StrategicMergePatchType
		switch r.MergeStrategy {
		case "merge":
			pt = types.MergePatchType
		case "json":
			pt = types.JSONPatchType
		}
		if g := mapping.Resource.Group; pt == types.StrategicMergePatchType && strings.Contains(g, ".") && !strings.HasSuffix(g, ".k8s.io") {
			pt = types.MergePatchType // custom resources take no strategic merge
		}
		obj, err = ri.Patch(ctx, u.GetName(), pt, js, metav1.PatchOptions{})
	case "delete":
		err = ri.Delete(ctx, u.GetName(), metav1.DeleteOptions{})
		if apierr.IsNotFound(err) {
			err = nil
		}
		obj = &u
	case "get":
		obj, err = ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	default:
		return nil, fmt.Errorf("resource action %q not supported by the stand-in", r.Action)
	}
	if err != nil {
		return nil, fmt.Errorf("resource %s %s %s: %w", r.Action, gvk.Kind, u.GetName(), err)
	}

	out := map[string]string{}
	for _, p := range t.Template.Outputs.Parameters {
		if p.ValueFrom == nil || p.ValueFrom.JSONPath == "" {
			continue
		}
		v, err := evalJSONPath(obj.Object, p.ValueFrom.JSONPath)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", p.Name, err)
		}
		out[p.Name] = v
	}
	return out, nil
}

func evalJSONPath(obj map[string]any, expr string) (string, error) {
	jp := jsonpath.New("output")
	if err := jp.Parse(expr); err != nil {
		return "", err
	}
	res, err := jp.FindResults(obj)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, r := range res {
		for _, v := range r {
			switch x := v.Interface().(type) {
			case string:
				parts = append(parts, x)
			default:
				b, _ := json.Marshal(x)
				parts = append(parts, string(b))
			}
		}
	}
	return strings.Join(parts, " "), nil
}
