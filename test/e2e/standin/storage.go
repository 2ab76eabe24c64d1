package standin

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierr "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeProvisioner is the storage side of the simulation: nothing is mounted
// under kwok, but the scheduler (real) only places a pod whose claims are
// bound. For every unbound claim in the namespace it creates a PersistentVolume
// pre-bound to it (and the claim's StorageClass if that does not exist); the
// controller-manager's persistentvolume-binder then binds them as it would
// volumes of a real provisioner.
const provisionerName = "kfp-argo-e2e.invalid/fake"

func (s *StandIn) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) {
	if pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil {
		return
	}
	s.mu.Lock()
	if s.provisioned[pvc.UID] {
		s.mu.Unlock()
		return
	}
	s.provisioned[pvc.UID] = true
	s.mu.Unlock()

	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if class != "" {
		immediate := storagev1.VolumeBindingImmediate
		_, err := s.kube.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
			ObjectMeta:        metav1.ObjectMeta{Name: class},
			Provisioner:       provisionerName,
			VolumeBindingMode: &immediate,
		}, metav1.CreateOptions{})
		if err != nil && !apierr.IsAlreadyExists(err) {
			s.opts.Logf("standin: storage class %s: %v", class, err)
		}
	}
	size, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		size = resource.MustParse("1Gi")
	}
	modes := pvc.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "e2e-pv-" + string(pvc.UID),
			Annotations: map[string]string{"pv.kubernetes.io/provisioned-by": provisionerName},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   modes,
			StorageClassName:              class,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			// Never mounted: pods don't run.
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: "/kfp-argo-e2e/" + string(pvc.UID), Type: &hostPathType},
			},
		},
	}
	if _, err := s.kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierr.IsAlreadyExists(err) {
		s.opts.Logf("standin: volume for claim %s: %v", pvc.Name, err)
		return
	}
	s.opts.Logf("standin: provisioned %s for claim %s/%s", pv.Name, pvc.Namespace, pvc.Name)
}
