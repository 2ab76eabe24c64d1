package cluster

// ExitCodeLabel on a pod tells kwok how the pod ends: "0" makes every
// container terminate with exit code 0 and the pod Succeeded; any other
// number makes the `main` container terminate with that code (the others
// with 0) and the pod Failed, which Argo reports as
// "Error (exit code N)". A pod without the label stays Running: the executor
// stand-in sets it once it has reported the pod's outputs, the way Argo's
// wait container reports before the pod ends. A workflow can also set it
// itself through a template's metadata.labels.
const ExitCodeLabel = "e2e.kwok/exit-code"

// NodeName is the one simulated node; NodeLabel selects it for kwok.
const (
	NodeName  = "kwok-node-0"
	nodeLabel = "type"
	nodeValue = "kwok"
)

// kwokStages is the whole kwok --config file: Stage objects only (a
// KwokConfiguration document there replaces kwok's defaults instead of
// merging with them). Stages apply only to pods on nodes kwok manages.
const kwokStages = `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: node-ready
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      {{ range NodeConditions }}
      - lastHeartbeatTime: {{ $now | Quote }}
        lastTransitionTime: {{ $now | Quote }}
        message: {{ .message | Quote }}
        reason: {{ .reason | Quote }}
        status: {{ .status | Quote }}
        type: {{ .type | Quote }}
      {{ end }}
      addresses:
      - address: {{ NodeIP | Quote }}
        type: InternalIP
      - address: {{ NodeName | Quote }}
        type: Hostname
      allocatable:
        cpu: 1k
        memory: 1Ti
        ephemeral-storage: 1Pi
        pods: 1M
        nvidia.com/gpu: 64
        amd.com/gpu: 64
      capacity:
        cpu: 1k
        memory: 1Ti
        ephemeral-storage: 1Pi
        pods: 1M
        nvidia.com/gpu: 64
        amd.com/gpu: 64
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: fake
        kubeProxyVersion: fake
      phase: Running
---
# The scheduler is real: the node offers plenty of everything, GPUs
# included, so pipelines that request accelerators are scheduled too.
# A new pod goes straight to Running: Argo's init container has finished,
# main and wait (and any sidecars) are running.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.podIP'
      operator: 'DoesNotExist'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: PodScheduled
      {{ if .spec.initContainers }}
      initContainerStatuses:
      {{ range .spec.initContainers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 0
            reason: Completed
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      {{ end }}
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: true
        restartCount: 0
        started: true
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      hostIP: {{ NodeIPWith .spec.nodeName | Quote }}
      podIP: {{ PodIPWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) | Quote }}
      phase: Running
      startTime: {{ $now | Quote }}
---
# Exit code 0: every container (main, wait, sidecars) terminates with 0. All
# of them must end, or Argo keeps the node Running.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-succeeded
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.labels["e2e.kwok/exit-code"]'
      operator: 'In'
      values: ['0']
  next:
` + podEndedStatus + `---
# Any other exit code: main terminates with it, every other container with
# 0 (a non-zero wait would make Argo report Error instead of the task's
# failure).
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-failed
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.labels["e2e.kwok/exit-code"]'
      operator: 'Exists'
    - key: '.metadata.labels["e2e.kwok/exit-code"]'
      operator: 'NotIn'
      values: ['0']
  next:
` + podEndedStatus + `---
# Deleted pods go away at once, finalizers or not: nothing runs that would
# need to clean up.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    finalizers:
      empty: true
    delete: true
`

// podEndedStatus is the status the pod-succeeded and pod-failed stages give a
// pod: every container terminated, main with the pod's exit code and the
// others with 0, and the pod Succeeded for 0, else Failed.
const podEndedStatus = `    statusTemplate: |
      {{ $now := Now }}
      {{ $code := index .metadata.labels "e2e.kwok/exit-code" }}
      {{ $reason := "PodFailed" }}{{ if eq $code "0" }}{{ $reason = "PodCompleted" }}{{ end }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
        reason: {{ $reason }}
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
        reason: {{ $reason }}
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: PodScheduled
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            {{ if and (eq .name "main") (ne $code "0") }}
            exitCode: {{ $code }}
            reason: Error
            {{ else }}
            exitCode: 0
            reason: Completed
            {{ end }}
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
      phase: {{ if eq $code "0" }}Succeeded{{ else }}Failed{{ end }}
`
