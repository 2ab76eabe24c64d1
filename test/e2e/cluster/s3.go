package cluster

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// S3 is the cluster's artifact repository (versitygw with its posix
// backend on loopback) as seen by a client: enough of the S3 API, signed
// with AWS Signature Version 4, for the harness to create the bucket and
// for tests to read artifacts back.
type S3 struct {
	Endpoint  string // host:port
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	client    *http.Client
}

// S3SecretName holds the repository's credentials in the namespace.
const S3SecretName = "kfp-argo-e2e-s3"

func newS3(port int) (*S3, error) {
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return &S3{
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", port),
		Bucket:    ArtifactBucket,
		AccessKey: "kfp-argo-e2e",
		SecretKey: hex.EncodeToString(key),
		Region:    "us-east-1",
		client:    &http.Client{Timeout: 30 * time.Second},
	}, nil
}

func (c *Cluster) startVersitygw(ctx context.Context) error {
	data := filepath.Join(c.workDir, "s3")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	s3, err := newS3(c.ports.s3)
	if err != nil {
		return err
	}
	c.s3 = s3
	// Credentials through the environment, not argv (ps shows argv).
	if _, err := c.run("versitygw", []string{"--port", s3.Endpoint, "--region", s3.Region, "--quiet", "posix", data},
		"ROOT_ACCESS_KEY="+s3.AccessKey, "ROOT_SECRET_KEY="+s3.SecretKey); err != nil {
		return err
	}
	return c.poll(ctx, "versitygw creates bucket "+s3.Bucket, func() (bool, error) {
		err := s3.CreateBucket(ctx)
		return err == nil, nil
	})
}

// CreateBucket creates s.Bucket.
func (s *S3) CreateBucket(ctx context.Context) error {
	_, err := s.do(ctx, http.MethodPut, "/"+s.Bucket, nil)
	return err
}

// Put stores an object (a test's input artifact).
func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.doBody(ctx, http.MethodPut, "/"+s.Bucket+"/"+strings.TrimPrefix(key, "/"), nil, data)
	return err
}

// Get returns the object's content.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	return s.do(ctx, http.MethodGet, "/"+s.Bucket+"/"+strings.TrimPrefix(key, "/"), nil)
}

// List returns the keys under prefix (at most 1000, enough for a test).
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	b, err := s.do(ctx, http.MethodGet, "/"+s.Bucket, url.Values{"list-type": {"2"}, "prefix": {prefix}})
	if err != nil {
		return nil, err
	}
	var res struct {
		Contents []struct{ Key string } `xml:"Contents"`
	}
	if err := xml.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var keys []string
	for _, c := range res.Contents {
		keys = append(keys, c.Key)
	}
	sort.Strings(keys)
	return keys, nil
}

// do sends a body-less request signed with SigV4 (path-style addressing).
func (s *S3) do(ctx context.Context, method, path string, query url.Values) ([]byte, error) {
	return s.doBody(ctx, method, path, query, nil)
}

func (s *S3) doBody(ctx context.Context, method, path string, query url.Values, body []byte) ([]byte, error) {
	u := url.URL{Scheme: "http", Host: s.Endpoint, Path: path, RawQuery: canonicalQuery(query)}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.ContentLength = int64(len(body))
	sum := sha256.Sum256(body)
	s.sign(req, time.Now().UTC(), hex.EncodeToString(sum[:]))
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("s3 %s %s: %s: %s", method, path, resp.Status, b)
	}
	return b, nil
}

func (s *S3) sign(req *http.Request, now time.Time, payloadSHA256 string) {
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	req.Header.Set("x-amz-date", amzDate)
	req.Header.Set("x-amz-content-sha256", payloadSHA256)
	signed := "host;x-amz-content-sha256;x-amz-date"
	canonical := strings.Join([]string{
		req.Method,
		req.URL.EscapedPath(),
		req.URL.RawQuery,
		"host:" + req.URL.Host + "\nx-amz-content-sha256:" + payloadSHA256 + "\nx-amz-date:" + amzDate + "\n",
		signed,
		payloadSHA256,
	}, "\n")
	scope := day + "/" + s.Region + "/s3/aws4_request"
	h := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	k := hmacSHA256([]byte("AWS4"+s.SecretKey), day)
	k = hmacSHA256(k, s.Region)
	k = hmacSHA256(k, "s3")
	k = hmacSHA256(k, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(k, toSign))
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		s.AccessKey, scope, signed, sig))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalQuery encodes query as SigV4 wants it: keys sorted, %20 for
// spaces.
func canonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}

// S3 is the artifact repository of a RealPods cluster (nil otherwise).
func (c *Cluster) S3() *S3 { return c.s3 }
