package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestKwokStages checks the kwok config holds only Stage objects (kwok
// replaces its defaults with any KwokConfiguration it finds) with the names
// the docs mention.
func TestKwokStages(t *testing.T) {
	var names []string
	for _, doc := range strings.Split(kwokStages, "\n---\n") {
		var obj struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("stage YAML: %v\n%s", err, doc)
		}
		if obj.Kind != "Stage" {
			t.Errorf("kind %q in kwok config, want only Stage", obj.Kind)
		}
		names = append(names, obj.Metadata.Name)
	}
	if got := strings.Join(names, ","); got != "node-ready,pod-running,pod-succeeded,pod-failed,pod-delete" {
		t.Errorf("stages %s", got)
	}
}

// TestPKI checks the serving certificate verifies for 127.0.0.1 against the
// CA and the admin certificate is a system:masters client certificate.
func TestPKI(t *testing.T) {
	p, err := newPKI(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(p.caPEM) {
		t.Fatal("CA PEM")
	}
	servingPEM, err := os.ReadFile(p.servingCert)
	if err != nil {
		t.Fatal(err)
	}
	servingKey, err := os.ReadFile(p.servingKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2][]byte{"serving": {servingPEM, servingKey}, "admin": {p.adminCertPEM, p.adminKeyPEM}} {
		kp, err := tls.X509KeyPair(pair[0], pair[1])
		if err != nil {
			t.Fatalf("%s key pair: %v", name, err)
		}
		leaf, err := x509.ParseCertificate(kp.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		usage := x509.ExtKeyUsageServerAuth
		if name == "admin" {
			usage = x509.ExtKeyUsageClientAuth
			if len(leaf.Subject.Organization) != 1 || leaf.Subject.Organization[0] != "system:masters" {
				t.Errorf("admin organization %v", leaf.Subject.Organization)
			}
		}
		opts := x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{usage}}
		if name == "serving" {
			opts.DNSName = "127.0.0.1"
		}
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("%s certificate: %v", name, err)
		}
	}
}
