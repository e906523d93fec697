// clusterrender renders a chart the way `helm upgrade` does against a cluster
// that already holds some objects, without a cluster: the chart's `lookup`
// calls are answered from the objects in -cluster (a multi-document YAML file)
// through a fake dynamic client, where `helm template` answers every lookup
// with nothing. Values come as with helm (-f, --set, --set-json), and are
// validated against the chart's values.schema.json. The manifests go to stdout
// as `helm template` prints them ("---" and "# Source: <template>" before each),
// hooks and NOTES.txt excluded.
//
// helm/test-chart.sh uses it to check that the secrets the chart generates on
// install are the ones kept on upgrade.
//
// Usage: clusterrender -chart DIR -cluster objects.yaml [-release wallet]
// [-namespace wallet] [-f values.yaml]... [-set k=v]... [-set-json k=json]...
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/getter"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// fakeCluster answers lookups from a fake dynamic client; every kind is
// namespaced and its resource is the lower-case plural of the kind.
type fakeCluster struct {
	client *dynamicfake.FakeDynamicClient
}

func resourceFor(apiVersion, kind string) schema.GroupVersionResource {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return gv.WithResource(strings.ToLower(kind) + "s")
}

func (c fakeCluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	return c.client.Resource(resourceFor(apiVersion, kind)), true, nil
}

func main() {
	var opts values.Options
	var files, sets, setJSON stringList
	chartDir := flag.String("chart", "", "chart directory")
	clusterFile := flag.String("cluster", "", "YAML file with the objects the cluster holds")
	release := flag.String("release", "wallet", "release name")
	namespace := flag.String("namespace", "wallet", "release namespace")
	kubeVersion := flag.String("kube-version", "1.30.0", "Kubernetes version for .Capabilities")
	flag.Var(&files, "f", "values file (repeatable)")
	flag.Var(&sets, "set", "as helm --set (repeatable)")
	flag.Var(&setJSON, "set-json", "as helm --set-json (repeatable)")
	flag.Parse()
	if *chartDir == "" || *clusterFile == "" {
		fail(errors.New("-chart and -cluster are required"))
	}
	opts.ValueFiles, opts.Values, opts.JSONValues = files, sets, setJSON

	chrt, err := loader.Load(*chartDir)
	if err != nil {
		fail(err)
	}
	vals, err := opts.MergeValues(getter.All(cli.New()))
	if err != nil {
		fail(err)
	}
	kv, err := chartutil.ParseKubeVersion(*kubeVersion)
	if err != nil {
		fail(err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	top, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{
		Name: *release, Namespace: *namespace, Revision: 2, IsUpgrade: true,
	}, caps)
	if err != nil {
		fail(err)
	}

	objs, listKinds, err := readObjects(*clusterFile)
	if err != nil {
		fail(err)
	}
	cluster := fakeCluster{dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)}
	rendered, err := engine.RenderWithClientProvider(chrt, top, cluster)
	if err != nil {
		fail(err)
	}

	names := make([]string, 0, len(rendered))
	for name := range rendered {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		content := strings.TrimSpace(rendered[name])
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" || content == "" {
			continue
		}
		for _, doc := range strings.Split("\n"+content, "\n---") {
			doc = strings.TrimSpace(doc)
			if doc == "" || strings.Contains(doc, "helm.sh/hook:") {
				continue
			}
			fmt.Printf("---\n# Source: %s\n%s\n", name, doc)
		}
	}
}

func readObjects(file string) ([]runtime.Object, map[schema.GroupVersionResource]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	var objs []runtime.Object
	listKinds := map[schema.GroupVersionResource]string{
		// lookups of kinds the cluster has none of still need a list kind
		{Version: "v1", Resource: "secrets"}: "SecretList",
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, nil, err
		}
		if u.GetKind() == "" {
			continue
		}
		objs = append(objs, u)
		listKinds[resourceFor(u.GetAPIVersion(), u.GetKind())] = u.GetKind() + "List"
	}
	return objs, listKinds, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "clusterrender:", err)
	os.Exit(1)
}
