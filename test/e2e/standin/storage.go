package standin

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/kfp-argo/kfp-argo/test/e2e/cluster"
)

// fakeProvisioner is the storage side of the simulation: nothing is mounted
// under kwok, but the scheduler (real) only places a pod whose claims are
// bound. For every unbound claim in the namespace it creates a PersistentVolume
// pre-bound to it (and the claim's StorageClass if that does not exist); the
// controller-manager's persistentvolume-binder then binds them as it would
// volumes of a real provisioner.
const provisionerName = "kfp-argo-e2e.invalid/fake"

func (s *StandIn) maybeProvision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) {
	if pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil {
		return
	}
	if !s.first(s.provisioned, pvc.UID) {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.provision(ctx, pvc.DeepCopy())
	}()
}

func (s *StandIn) provision(ctx context.Context, pvc *corev1.PersistentVolumeClaim) {
	// Retried while the claim exists: a claim left unbound keeps its pods
	// Pending for ever.
	gone := func() bool {
		cur, err := s.claims.PersistentVolumeClaims(pvc.Namespace).Get(pvc.Name)
		return err != nil || cur.UID != pvc.UID || cur.DeletionTimestamp != nil
	}
	var pv *corev1.PersistentVolume
	err := s.persist(ctx, "provision claim "+pvc.Name, gone, func() (err error) {
		// Never mounted: pods don't run.
		pv, err = cluster.BindClaim(ctx, s.kube, pvc, provisionerName, "/kfp-argo-e2e/"+string(pvc.UID))
		return err
	})
	if err != nil {
		s.opts.Logf("standin: %v", err)
		return
	}
	s.opts.Logf("standin: provisioned %s for claim %s/%s", pv.Name, pvc.Namespace, pvc.Name)
}
