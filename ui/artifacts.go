package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// maxArtifactBytes bounds what a page reads of one visualisation or log.
const maxArtifactBytes = 4 << 20

// artifactReader reads artifact contents from the S3-compatible repository a Workflow ran with, with the
// credentials of the repository's Secrets as Argo resolves them (same namespace as the Workflow), read with
// the user's own kube credentials.
type artifactReader struct {
	kube kubernetes.Interface
	ns   string
}

// s3Location merges the artifact's own S3 fields over the repository's, as Argo does for an artifact that
// carries only its key.
func s3Location(wf *wfv1.Workflow, a wfv1.Artifact) (wfv1.S3Bucket, string, error) {
	var b wfv1.S3Bucket
	if ref := wf.Status.ArtifactRepositoryRef; ref != nil && ref.ArtifactRepository != nil && ref.ArtifactRepository.S3 != nil {
		b = ref.ArtifactRepository.S3.S3Bucket
	}
	if a.S3 == nil {
		if a.GCS != nil || a.HTTP != nil || a.Git != nil || a.Azure != nil || a.HDFS != nil || a.OSS != nil || a.Artifactory != nil {
			return b, "", errors.New("only S3-compatible artifact repositories are read")
		}
	}
	key, err := a.GetKey()
	if err != nil {
		return b, "", fmt.Errorf("artifact %s has no key: %w", a.Name, err)
	}
	if a.S3 != nil {
		o := a.S3.S3Bucket
		if o.Endpoint != "" {
			b = o
		} else if o.Bucket != "" {
			b.Bucket = o.Bucket
		}
	}
	if b.Endpoint == "" || b.Bucket == "" {
		return b, "", errors.New("the Workflow's artifact repository names no S3 endpoint and bucket")
	}
	return b, key, nil
}

func (r artifactReader) secret(ctx context.Context, sel *corev1.SecretKeySelector) (string, error) {
	if sel == nil {
		return "", nil
	}
	s, err := r.kube.CoreV1().Secrets(r.ns).Get(ctx, sel.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("artifact repository secret %s: %w", sel.Name, err)
	}
	v, ok := s.Data[sel.Key]
	if !ok {
		return "", fmt.Errorf("artifact repository secret %s has no key %q", sel.Name, sel.Key)
	}
	return string(v), nil
}

// read returns an artifact's object, at most maxArtifactBytes.
func (r artifactReader) read(ctx context.Context, wf *wfv1.Workflow, a wfv1.Artifact) ([]byte, error) {
	b, key, err := s3Location(wf, a)
	if err != nil {
		return nil, err
	}
	if b.RoleARN != "" {
		return nil, fmt.Errorf("the artifact repository assumes role %s, which kfp-argo ui does not do", b.RoleARN)
	}
	var creds *credentials.Credentials
	if b.UseSDKCreds {
		// Argo's executor takes the SDK's default chain in its pod; here, the user's own AWS environment
		// and credentials file (no instance metadata: that would only stall a page off the cloud).
		creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}})
	} else {
		access, err := r.secret(ctx, b.AccessKeySecret)
		if err != nil {
			return nil, err
		}
		secret, err := r.secret(ctx, b.SecretKeySecret)
		if err != nil {
			return nil, err
		}
		token, err := r.secret(ctx, b.SessionTokenSecret)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewStaticV4(access, secret, token)
	}
	region := b.Region
	if region == "" {
		// A fixed region spares a GetBucketLocation round trip; S3-compatible servers accept it.
		region = "us-east-1"
	}
	client, err := minio.New(b.Endpoint, &minio.Options{
		Creds:  creds,
		Secure: b.Insecure == nil || !*b.Insecure,
		Region: region,
		// A page waits for this read: fail fast rather than with minio-go's ten retries.
		MaxRetries: 2,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", b.Endpoint, err)
	}
	obj, err := client.GetObject(ctx, b.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", b.Bucket, key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, maxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", b.Bucket, key, err)
	}
	if len(data) > maxArtifactBytes {
		return nil, fmt.Errorf("s3://%s/%s is larger than %d MiB", b.Bucket, key, maxArtifactBytes>>20)
	}
	return data, nil
}

// renderMarkdown turns Markdown (with GitHub's tables, as KFP's Markdown visualisations use) into HTML with
// goldmark's safe renderer, which leaves raw HTML out and drops javascript: links, so an artifact cannot
// inject markup or script into the page.
func renderMarkdown(src []byte) (template.HTML, error) {
	var buf bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert(src, &buf); err != nil {
		return "", fmt.Errorf("markdown: %w", err)
	}
	return template.HTML(buf.String()), nil
}
