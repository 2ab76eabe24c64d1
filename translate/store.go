package translate

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"
)

// artifactStore is what kfp-argo knows of the Argo artifact repository the workflow's artifacts go to
// (Options.ArtifactStore). A pod cannot see the repository Argo chose for it (the main container gets no
// ARGO_TEMPLATE), so this is told at compile time: the bucket makes the URIs components see real, and the S3
// endpoint and credentials let an importer read a bucket other than the repository's.
type artifactStore struct {
	scheme string // s3, minio or gs
	bucket string
	s3     *wfv1.S3Bucket // endpoint and credentials; nil when not given
}

// parseArtifactStore reads SCHEME://BUCKET[?endpoint=HOST:PORT&insecure=true&region=R&secret=NAME
// &accessKeyKey=K&secretKeyKey=K]; the secret's keys default to accesskey and secretkey.
func parseArtifactStore(s string) (*artifactStore, error) {
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("artifact store %q: %v", s, err)
	}
	if u.Scheme != "s3" && u.Scheme != "minio" && u.Scheme != "gs" {
		return nil, fmt.Errorf("artifact store %q: the scheme must be s3, minio or gs", s)
	}
	if u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("artifact store %q: expected SCHEME://BUCKET (the repository's bucket, no key prefix)", s)
	}
	st := &artifactStore{scheme: u.Scheme, bucket: u.Host}
	q := u.Query()
	// Bucket, endpoint, region and secret go into artifact locations as they are (decoded from the URL).
	parts := []string{u.Host}
	for _, k := range sortedMapKeys(q) {
		parts = append(parts, k)
		parts = append(parts, q[k]...)
	}
	for _, part := range parts {
		if strings.Contains(part, "{{") {
			return nil, fmt.Errorf("artifact store %q: Argo would evaluate the \"{{\" in %q", s, part)
		}
	}
	for k := range q {
		switch k {
		case "endpoint", "insecure", "region", "secret", "accessKeyKey", "secretKeyKey":
		default:
			return nil, fmt.Errorf("artifact store %q: unknown setting %q (endpoint, insecure, region, secret, accessKeyKey, secretKeyKey)", s, k)
		}
	}
	if q.Get("endpoint") == "" {
		if len(q) > 0 {
			return nil, fmt.Errorf("artifact store %q: S3 settings need endpoint=HOST:PORT", s)
		}
		return st, nil
	}
	if st.scheme == "gs" {
		return nil, fmt.Errorf("artifact store %q: endpoint and credentials are S3 settings", s)
	}
	b := &wfv1.S3Bucket{Endpoint: q.Get("endpoint"), Region: q.Get("region")}
	if v := q.Get("insecure"); v != "" {
		insecure, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("artifact store %q: insecure=%q is not a boolean", s, v)
		}
		b.Insecure = &insecure
	}
	if name := q.Get("secret"); name != "" {
		key := func(setting, def string) string {
			if v := q.Get(setting); v != "" {
				return v
			}
			return def
		}
		b.AccessKeySecret = &apiv1.SecretKeySelector{LocalObjectReference: apiv1.LocalObjectReference{Name: name}, Key: key("accessKeyKey", "accesskey")}
		b.SecretKeySecret = &apiv1.SecretKeySelector{LocalObjectReference: apiv1.LocalObjectReference{Name: name}, Key: key("secretKeyKey", "secretkey")}
	}
	st.s3 = b
	return st, nil
}

// s3Location completes an S3 location of another bucket with the store's endpoint and credentials, so that
// Argo does not relocate it into the default repository (ArtifactLocation.Relocate keeps only the key of a
// location without endpoint). A bucket known to be the repository's own needs nothing more.
func (st *artifactStore) s3Location(loc *wfv1.S3Artifact, bucketKnown bool) error {
	if bucketKnown && st != nil && loc.Bucket == st.bucket && st.scheme != "gs" {
		return nil
	}
	if st == nil || st.s3 == nil {
		what := fmt.Sprintf("bucket %q", loc.Bucket)
		if !bucketKnown {
			what = "a bucket known only at run time"
		}
		return fmt.Errorf("reading S3 %s needs the S3 endpoint and credentials: --artifact-store s3://REPOSITORY-BUCKET?endpoint=HOST:PORT&secret=NAME (Argo would otherwise read the default repository's bucket)", what)
	}
	bucket := loc.Bucket
	loc.S3Bucket = *st.s3.DeepCopy()
	loc.Bucket = bucket
	return nil
}

// uri is the URI of an object of the repository, as KFP writes it (the store's scheme, minio:// included).
func (st *artifactStore) uri(key string) string {
	return st.scheme + "://" + st.bucket + "/" + key
}

// output is the location of output artifact n of a pod, and its URI: one key per pod and artifact, in the
// repository's kind of location.
func (st *artifactStore) output(n string) (wfv1.ArtifactLocation, string) {
	key := "kfp-argo/{{workflow.uid}}/{{pod.name}}/" + paramName(n)
	if st.scheme == "gs" {
		return wfv1.ArtifactLocation{GCS: &wfv1.GCSArtifact{Key: key}}, st.uri(key)
	}
	return wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: key}}, st.uri(key)
}
