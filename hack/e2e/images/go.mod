// Module images packs the root file systems that hack/e2e/images.sh assembles
// into image tarballs for containerd, and builds the sandbox (pause) binary.
// Argo's executor is built by the argoexec module next to it, so that the
// image library's dependencies never change the versions Argo pins.
module github.com/kfp-argo/kfp-argo/hack/e2e/images

go 1.26.0

require (
	github.com/google/go-containerregistry v0.22.1
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	go.yaml.in/yaml/v2 v2.4.2 // indirect
)
