// manifestcheck reads `helm template` output on stdin and checks it without a
// cluster: every document must decode strictly into its Kubernetes API type, or
// the Prometheus Operator's for ServiceMonitor and PrometheusRule (unknown or
// duplicate fields and wrong types fail), and the objects must fit together:
//   - selectors match pod labels, probes and Services name container ports that
//     exist, Ingress backends are rendered Services on their ports;
//   - Secrets and ConfigMaps referenced by pods (env, envFrom, volumes and their
//     items) exist unless declared external (-external-secret,
//     -external-configmap); a file setting (WALLET_CONFIG, WALLET_*_FILE) names
//     a file a volume mount provides; $(VAR) in an env value names an earlier
//     variable;
//   - `helm test` Pods call a rendered Service on its port, at the readiness
//     path of the pods behind it;
//   - NetworkPolicies select rendered pods, their ipBlock exceptions lie inside
//     the block, their named ports exist; -reach / -no-reach evaluate who may
//     connect to whom under them;
//   - a ServiceMonitor selects rendered Services that have its port;
//   - PrometheusRule groups pass Prometheus's own rule-file validation (PromQL,
//     durations, label and annotation templates) and use only the metrics given
//     with -metric (a trailing * matches a prefix).
// It prints one line per object ("ok   decode Kind/name"), one per Ingress route
// ("route host/path Type -> service:port"), per mounted file ("file Deployment/x
// ENV=path <- Secret/name[key]"), per test Pod ("test Pod/x -> service:port/path"),
// per ServiceMonitor ("servicemonitor name selects a,b"), per alert ("alert name
// uses m1,m2"), per reachability probe, and a closing "N passed, N failed".
//
// Built by helm/test-chart.sh in a module next to helm's own, so the k8s.io
// packages are the versions helm uses.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

type objects struct {
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	pods            []*corev1.Pod
	services        map[string]*corev1.Service
	secrets         map[string]*corev1.Secret
	configMaps      map[string]*corev1.ConfigMap
	ingresses       []*networkingv1.Ingress
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	networkPolicies []*networkingv1.NetworkPolicy
	serviceMonitors []*monitoringv1.ServiceMonitor
	prometheusRules []*monitoringv1.PrometheusRule
	serviceAccts    map[string]bool
	// Secrets and ConfigMaps that exist outside the chart.
	externalSecrets    map[string]bool
	externalConfigMaps map[string]bool
	namespace          string
}

func main() {
	var externalSecrets, externalConfigMaps, metrics, reach, noReach stringList
	flag.Var(&externalSecrets, "external-secret", "a Secret that exists outside the chart (repeatable)")
	flag.Var(&externalConfigMaps, "external-configmap", "a ConfigMap that exists outside the chart (repeatable)")
	flag.Var(&metrics, "metric", "a metric PrometheusRule expressions may use; a trailing * matches a prefix (repeatable)")
	flag.Var(&reach, "reach", `"FROM -> TO:PORT[/PROTOCOL]" must be allowed by the NetworkPolicies (repeatable; see endpoint syntax in parseEndpoint)`)
	flag.Var(&noReach, "no-reach", `"FROM -> TO:PORT[/PROTOCOL]" must be denied by the NetworkPolicies (repeatable)`)
	namespace := flag.String("namespace", "wallet", "the namespace the manifests are rendered for")
	flag.Parse()

	sch := scheme.Scheme
	if err := monitoringv1.AddToScheme(sch); err != nil {
		fmt.Println("FAIL scheme:", err)
		os.Exit(1)
	}
	codecs := serializer.NewCodecFactory(sch, serializer.EnableStrict)
	decoder := codecs.UniversalDeserializer()
	objs := objects{
		services:           map[string]*corev1.Service{},
		secrets:            map[string]*corev1.Secret{},
		configMaps:         map[string]*corev1.ConfigMap{},
		serviceAccts:       map[string]bool{},
		externalSecrets:    toSet(externalSecrets),
		externalConfigMaps: toSet(externalConfigMaps),
		namespace:          *namespace,
	}

	passed, failed := 0, 0
	report := func(what string, errs []string) {
		if len(errs) == 0 {
			passed++
			fmt.Printf("ok   %s\n", what)
			return
		}
		failed++
		for _, e := range errs {
			fmt.Printf("FAIL %s: %s\n", what, e)
		}
	}

	reader := utilyaml.NewYAMLReader(bufio.NewReader(os.Stdin))
	seen := map[string]bool{}
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			report("input", []string{err.Error()})
			break
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			report("document", []string{err.Error()})
			continue
		}
		name := ""
		var errs []string
		switch o := obj.(type) {
		case *appsv1.Deployment:
			name = o.Name
			objs.deployments = append(objs.deployments, o)
		case *appsv1.StatefulSet:
			name = o.Name
			objs.statefulSets = append(objs.statefulSets, o)
		case *corev1.Service:
			name = o.Name
			objs.services[o.Name] = o
		case *corev1.Secret:
			name = o.Name
			objs.secrets[o.Name] = o
		case *corev1.ConfigMap:
			name = o.Name
			objs.configMaps[o.Name] = o
		case *corev1.ServiceAccount:
			name = o.Name
			objs.serviceAccts[o.Name] = true
		case *networkingv1.Ingress:
			name = o.Name
			objs.ingresses = append(objs.ingresses, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			name = o.Name
			objs.hpas = append(objs.hpas, o)
		case *policyv1.PodDisruptionBudget:
			name = o.Name
			objs.pdbs = append(objs.pdbs, o)
		case *corev1.Pod:
			name = o.Name
			objs.pods = append(objs.pods, o)
		case *networkingv1.NetworkPolicy:
			name = o.Name
			objs.networkPolicies = append(objs.networkPolicies, o)
		case *monitoringv1.ServiceMonitor:
			name = o.Name
			objs.serviceMonitors = append(objs.serviceMonitors, o)
		case *monitoringv1.PrometheusRule:
			name = o.Name
			objs.prometheusRules = append(objs.prometheusRules, o)
		default:
			errs = append(errs, fmt.Sprintf("unexpected kind %s", gvk))
		}
		for _, msg := range validation.IsDNS1123Subdomain(name) {
			errs = append(errs, "name: "+msg)
		}
		key := gvk.Kind + "/" + name
		if seen[key] {
			errs = append(errs, "rendered twice")
		}
		seen[key] = true
		report("decode "+key, errs)
	}

	for _, d := range objs.deployments {
		report("Deployment/"+d.Name, checkPod(objs, "Deployment/"+d.Name, d.Spec.Selector.MatchLabels, &d.Spec.Template))
	}
	for _, p := range objs.pods {
		tmpl := &corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}
		errs := checkPod(objs, "Pod/"+p.Name, p.Labels, tmpl)
		errs = append(errs, checkTestPod(objs, p)...)
		report("Pod/"+p.Name, errs)
	}
	for _, s := range objs.statefulSets {
		errs := checkPod(objs, "StatefulSet/"+s.Name, s.Spec.Selector.MatchLabels, &s.Spec.Template)
		if _, ok := objs.services[s.Spec.ServiceName]; !ok {
			errs = append(errs, "serviceName "+s.Spec.ServiceName+" is not rendered")
		}
		report("StatefulSet/"+s.Name, errs)
	}
	for _, svc := range sortedServices(objs) {
		report("Service/"+svc.Name, checkService(objs, svc))
	}
	for _, ing := range objs.ingresses {
		report("Ingress/"+ing.Name, checkIngress(objs, ing))
	}
	for _, h := range objs.hpas {
		var errs []string
		if !hasDeployment(objs, h.Spec.ScaleTargetRef.Name) {
			errs = append(errs, "scaleTargetRef "+h.Spec.ScaleTargetRef.Name+" is not a rendered Deployment")
		}
		if h.Spec.MinReplicas != nil && *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			errs = append(errs, "minReplicas > maxReplicas")
		}
		if len(h.Spec.Metrics) == 0 {
			errs = append(errs, "no metrics")
		}
		report("HorizontalPodAutoscaler/"+h.Name, errs)
	}
	for _, p := range objs.pdbs {
		var errs []string
		if p.Spec.MinAvailable != nil && p.Spec.MaxUnavailable != nil {
			errs = append(errs, "both minAvailable and maxUnavailable")
		}
		if p.Spec.Selector == nil || !selectsSomething(objs, p.Spec.Selector.MatchLabels) {
			errs = append(errs, "selector matches no rendered pod template")
		}
		report("PodDisruptionBudget/"+p.Name, errs)
	}
	for _, np := range objs.networkPolicies {
		report("NetworkPolicy/"+np.Name, checkNetworkPolicy(objs, np))
	}
	for _, sm := range objs.serviceMonitors {
		report("ServiceMonitor/"+sm.Name, checkServiceMonitor(objs, sm))
	}
	for _, pr := range objs.prometheusRules {
		report("PrometheusRule/"+pr.Name, checkPrometheusRule(pr, metrics))
	}
	for _, probe := range reach {
		report("reach "+probe, checkReach(objs, probe, true))
	}
	for _, probe := range noReach {
		report("no-reach "+probe, checkReach(objs, probe, false))
	}

	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out.WriteString(line + "\n")
	}
	return out.Bytes()
}

func checkPod(objs objects, owner string, selector map[string]string, t *corev1.PodTemplateSpec) []string {
	var errs []string
	if len(selector) == 0 {
		errs = append(errs, "empty selector")
	}
	if !labels.SelectorFromSet(selector).Matches(labels.Set(t.Labels)) {
		errs = append(errs, "selector does not match the pod template labels")
	}
	spec := t.Spec
	if sa := spec.ServiceAccountName; sa != "" && sa != "default" && !objs.serviceAccts[sa] {
		errs = append(errs, "serviceAccount "+sa+" is not rendered")
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		if _, dup := volumes[v.Name]; dup {
			errs = append(errs, "volume "+v.Name+" defined twice")
		}
		volumes[v.Name] = v
		if v.ConfigMap != nil {
			errs = append(errs, checkSource(objs, "volume "+v.Name, "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items)...)
		}
		if v.Secret != nil {
			errs = append(errs, checkSource(objs, "volume "+v.Name, "Secret", v.Secret.SecretName, v.Secret.Items)...)
		}
	}
	for _, c := range spec.Containers {
		ports := map[string]int32{}
		for _, p := range c.Ports {
			if p.Name != "" {
				ports[p.Name] = p.ContainerPort
			}
		}
		probes := map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe}
		for kind, p := range probes {
			if p == nil {
				continue
			}
			if p.HTTPGet != nil && !portExists(ports, p.HTTPGet.Port) {
				errs = append(errs, fmt.Sprintf("%s %sProbe: port %s is not a container port", c.Name, kind, p.HTTPGet.Port.String()))
			}
			if p.TCPSocket != nil && !portExists(ports, p.TCPSocket.Port) {
				errs = append(errs, fmt.Sprintf("%s %sProbe: port %s is not a container port", c.Name, kind, p.TCPSocket.Port.String()))
			}
		}
		envNames := map[string]bool{}
		for _, e := range c.Env {
			if envNames[e.Name] {
				errs = append(errs, c.Name+": env "+e.Name+" set twice")
			}
			// Kubernetes expands $(VAR) only for variables defined before.
			for _, m := range envRef.FindAllStringSubmatch(e.Value, -1) {
				if !envNames[m[1]] {
					errs = append(errs, fmt.Sprintf("%s: env %s refers to $(%s), which is not defined before it", c.Name, e.Name, m[1]))
				}
			}
			envNames[e.Name] = true
			if isFileSetting(e.Name) && e.Value != "" {
				desc, err := fileSource(objs, c, volumes, e.Value)
				if err != "" {
					errs = append(errs, fmt.Sprintf("%s: env %s=%s: %s", c.Name, e.Name, e.Value, err))
				} else {
					fmt.Printf("file %s %s=%s <- %s\n", owner, e.Name, e.Value, desc)
				}
			}
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				if s, ok := objs.secrets[ref.Name]; ok {
					if _, has := s.Data[ref.Key]; !has {
						if _, has := s.StringData[ref.Key]; !has {
							errs = append(errs, fmt.Sprintf("%s: env %s: Secret %s has no key %s", c.Name, e.Name, ref.Name, ref.Key))
						}
					}
				} else if !objs.externalSecrets[ref.Name] {
					errs = append(errs, fmt.Sprintf("%s: env %s: Secret %s is neither rendered nor declared external", c.Name, e.Name, ref.Name))
				}
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				errs = append(errs, checkSource(objs, c.Name+": envFrom", "ConfigMap", ef.ConfigMapRef.Name, nil)...)
			}
			if ef.SecretRef != nil {
				errs = append(errs, checkSource(objs, c.Name+": envFrom", "Secret", ef.SecretRef.Name, nil)...)
			}
		}
		mountPaths := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok && !isClaimTemplate(objs, m.Name) {
				errs = append(errs, c.Name+": volumeMount "+m.Name+" has no volume")
			}
			if mountPaths[m.MountPath] {
				errs = append(errs, c.Name+": two volumes mounted at "+m.MountPath)
			}
			mountPaths[m.MountPath] = true
		}
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			errs = append(errs, c.Name+": readOnlyRootFilesystem is not true")
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			errs = append(errs, c.Name+": allowPrivilegeEscalation is not false")
		}
		if sc == nil || sc.Capabilities == nil || len(sc.Capabilities.Drop) == 0 || sc.Capabilities.Drop[0] != "ALL" {
			errs = append(errs, c.Name+": capabilities do not drop ALL")
		}
	}
	if psc := spec.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		errs = append(errs, "pod securityContext.runAsNonRoot is not true")
	}
	return errs
}

func isClaimTemplate(objs objects, name string) bool {
	for _, s := range objs.statefulSets {
		for _, c := range s.Spec.VolumeClaimTemplates {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}

func portExists(ports map[string]int32, p intstr.IntOrString) bool {
	if p.Type == intstr.String {
		_, ok := ports[p.StrVal]
		return ok
	}
	for _, v := range ports {
		if v == p.IntVal {
			return true
		}
	}
	return false
}

func podTemplates(objs objects) []*corev1.PodTemplateSpec {
	var out []*corev1.PodTemplateSpec
	for _, d := range objs.deployments {
		out = append(out, &d.Spec.Template)
	}
	for _, s := range objs.statefulSets {
		out = append(out, &s.Spec.Template)
	}
	return out
}

func selectsSomething(objs objects, selector map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for _, t := range podTemplates(objs) {
		if labels.SelectorFromSet(selector).Matches(labels.Set(t.Labels)) {
			return true
		}
	}
	return false
}

func checkService(objs objects, svc *corev1.Service) []string {
	var errs []string
	var matched []*corev1.PodTemplateSpec
	for _, t := range podTemplates(objs) {
		if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(t.Labels)) {
			matched = append(matched, t)
		}
	}
	if len(matched) != 1 {
		errs = append(errs, fmt.Sprintf("selector matches %d pod templates, want 1", len(matched)))
		return errs
	}
	ports := map[string]int32{}
	for _, c := range matched[0].Spec.Containers {
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort
		}
	}
	for _, p := range svc.Spec.Ports {
		if !portExists(ports, p.TargetPort) {
			errs = append(errs, fmt.Sprintf("port %d: targetPort %s is not a container port", p.Port, p.TargetPort.String()))
		}
	}
	return errs
}

func checkIngress(objs objects, ing *networkingv1.Ingress) []string {
	var errs []string
	tlsHosts := map[string]bool{}
	for _, t := range ing.Spec.TLS {
		for _, h := range t.Hosts {
			tlsHosts[h] = true
		}
	}
	for _, rule := range ing.Spec.Rules {
		if len(ing.Spec.TLS) > 0 && !tlsHosts[rule.Host] {
			errs = append(errs, "host "+rule.Host+" has no TLS entry")
		}
		if rule.HTTP == nil {
			errs = append(errs, "rule without http paths")
			continue
		}
		paths := map[string]bool{}
		for _, p := range rule.HTTP.Paths {
			if paths[p.Path] {
				errs = append(errs, "path "+p.Path+" routed twice")
			}
			paths[p.Path] = true
			if p.PathType == nil {
				errs = append(errs, "path "+p.Path+" has no pathType")
			}
			b := p.Backend.Service
			if b == nil {
				errs = append(errs, "path "+p.Path+" has no service backend")
				continue
			}
			pathType := ""
			if p.PathType != nil {
				pathType = string(*p.PathType)
			}
			fmt.Printf("route %s%s %s -> %s:%d\n", rule.Host, p.Path, pathType, b.Name, b.Port.Number)
			svc, ok := objs.services[b.Name]
			if !ok {
				errs = append(errs, "path "+p.Path+": Service "+b.Name+" is not rendered")
				continue
			}
			found := false
			for _, sp := range svc.Spec.Ports {
				if (b.Port.Number != 0 && sp.Port == b.Port.Number) || (b.Port.Name != "" && sp.Name == b.Port.Name) {
					found = true
				}
			}
			if !found {
				errs = append(errs, fmt.Sprintf("path %s: Service %s has no port %d%s", p.Path, b.Name, b.Port.Number, b.Port.Name))
			}
		}
	}
	return errs
}

func hasDeployment(objs objects, name string) bool {
	for _, d := range objs.deployments {
		if d.Name == name {
			return true
		}
	}
	return false
}

func sortedServices(objs objects) []*corev1.Service {
	names := make([]string, 0, len(objs.services))
	for n := range objs.services {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*corev1.Service, 0, len(names))
	for _, n := range names {
		out = append(out, objs.services[n])
	}
	return out
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

func toSet(list []string) map[string]bool {
	out := map[string]bool{}
	for _, v := range list {
		out[v] = true
	}
	return out
}

// A setting that names a file the service reads.
func isFileSetting(name string) bool {
	return name == "WALLET_CONFIG" || (strings.HasPrefix(name, "WALLET_") && strings.HasSuffix(name, "_FILE"))
}

// keysOf returns the keys of a rendered Secret or ConfigMap, or nil (and false) when it is not rendered.
func keysOf(objs objects, kind, name string) (map[string]bool, bool) {
	keys := map[string]bool{}
	switch kind {
	case "Secret":
		s, ok := objs.secrets[name]
		if !ok {
			return nil, false
		}
		for k := range s.Data {
			keys[k] = true
		}
		for k := range s.StringData {
			keys[k] = true
		}
	case "ConfigMap":
		cm, ok := objs.configMaps[name]
		if !ok {
			return nil, false
		}
		for k := range cm.Data {
			keys[k] = true
		}
		for k := range cm.BinaryData {
			keys[k] = true
		}
	}
	return keys, true
}

// checkSource: a Secret or ConfigMap a pod uses is rendered (with the keys its items name) or declared external.
func checkSource(objs objects, what, kind, name string, items []corev1.KeyToPath) []string {
	keys, rendered := keysOf(objs, kind, name)
	if !rendered {
		external := objs.externalSecrets
		if kind == "ConfigMap" {
			external = objs.externalConfigMaps
		}
		if external[name] {
			return nil
		}
		return []string{fmt.Sprintf("%s: %s %s is neither rendered nor declared external", what, kind, name)}
	}
	var errs []string
	for _, it := range items {
		if !keys[it.Key] {
			errs = append(errs, fmt.Sprintf("%s: %s %s has no key %s", what, kind, name, it.Key))
		}
	}
	return errs
}

// fileSource finds what provides the file at p in container c: a mounted
// Secret or ConfigMap volume that has it (through items, or as a key). It
// returns a description ("Secret/name[key]") or an error message.
func fileSource(objs objects, c corev1.Container, volumes map[string]corev1.Volume, p string) (string, string) {
	if !path.IsAbs(p) {
		return "", "not an absolute path"
	}
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		mp := strings.TrimSuffix(m.MountPath, "/")
		if strings.HasPrefix(p, mp+"/") && (best == nil || len(mp) > len(strings.TrimSuffix(best.MountPath, "/"))) {
			best = &c.VolumeMounts[i]
		}
	}
	if best == nil {
		return "", "no volume is mounted there"
	}
	rel := strings.TrimPrefix(p, strings.TrimSuffix(best.MountPath, "/")+"/")
	if best.SubPath != "" {
		return "", "mounted with subPath (not updated when the source changes)"
	}
	if !best.ReadOnly {
		return "", "mount " + best.Name + " is not readOnly"
	}
	v := volumes[best.Name]
	var kind, name string
	var items []corev1.KeyToPath
	switch {
	case v.Secret != nil:
		kind, name, items = "Secret", v.Secret.SecretName, v.Secret.Items
	case v.ConfigMap != nil:
		kind, name, items = "ConfigMap", v.ConfigMap.Name, v.ConfigMap.Items
	default:
		return "", "volume " + best.Name + " is neither a Secret nor a ConfigMap"
	}
	key := ""
	if len(items) > 0 {
		for _, it := range items {
			if it.Path == rel {
				key = it.Key
			}
		}
		if key == "" {
			return "", fmt.Sprintf("volume %s (%s %s) has no item with path %s", best.Name, kind, name, rel)
		}
	} else {
		key = rel
		if keys, rendered := keysOf(objs, kind, name); rendered && !keys[key] {
			return "", fmt.Sprintf("%s %s has no key %s", kind, name, key)
		}
	}
	return fmt.Sprintf("%s/%s[%s]", kind, name, key), ""
}

// checkTestPod: a `helm test` Pod calls a rendered Service on one of its
// ports, at the readiness probe path of the pods behind that Service.
func checkTestPod(objs objects, p *corev1.Pod) []string {
	if p.Annotations["helm.sh/hook"] != "test" {
		return []string{"a bare Pod that is not a helm test hook"}
	}
	var errs []string
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever {
		errs = append(errs, "restartPolicy is not Never")
	}
	urls := 0
	for _, c := range p.Spec.Containers {
		for _, e := range c.Env {
			for _, raw := range strings.FieldsFunc(e.Value, func(r rune) bool { return r == ',' || r == ' ' }) {
				u, err := url.Parse(raw)
				if err != nil || u.Scheme != "http" || u.Host == "" {
					continue
				}
				urls++
				host := u.Hostname()
				svcName := host
				if i := strings.IndexByte(host, '.'); i >= 0 {
					svcName = host[:i]
					if host != svcName+"."+objs.namespace+".svc" && host != svcName+"."+objs.namespace+".svc.cluster.local" {
						errs = append(errs, fmt.Sprintf("%s: host %s is not a Service of namespace %s", e.Name, host, objs.namespace))
						continue
					}
				}
				svc, ok := objs.services[svcName]
				if !ok {
					errs = append(errs, fmt.Sprintf("%s: Service %s is not rendered", e.Name, svcName))
					continue
				}
				port, _ := strconv.Atoi(u.Port())
				var target *corev1.ServicePort
				for i, sp := range svc.Spec.Ports {
					if int(sp.Port) == port {
						target = &svc.Spec.Ports[i]
					}
				}
				if target == nil {
					errs = append(errs, fmt.Sprintf("%s: Service %s has no port %d", e.Name, svcName, port))
					continue
				}
				var readiness []string
				for _, t := range podTemplates(objs) {
					if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(t.Labels)) {
						for _, pc := range t.Spec.Containers {
							if pc.ReadinessProbe != nil && pc.ReadinessProbe.HTTPGet != nil {
								readiness = append(readiness, pc.ReadinessProbe.HTTPGet.Path)
							}
						}
					}
				}
				if len(readiness) == 0 || readiness[0] != u.Path {
					errs = append(errs, fmt.Sprintf("%s: path %s is not the readiness path %v of the pods behind %s", e.Name, u.Path, readiness, svcName))
					continue
				}
				fmt.Printf("test Pod/%s -> %s:%d%s\n", p.Name, svcName, port, u.Path)
			}
		}
	}
	if urls == 0 {
		errs = append(errs, "no http URL in the test Pod's env")
	}
	return errs
}

// ---------------------------------------------------------------------------
// NetworkPolicies

func selectorMatches(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(set))
}

// A pod that the policies are evaluated for: a rendered workload's pod template
// (in the release namespace) or a pod elsewhere, or an address outside the cluster.
type endpoint struct {
	desc      string
	ip        netip.Addr // set for an address outside the cluster
	namespace string
	labels    map[string]string
	spec      *corev1.PodSpec // rendered pods only
}

func (e endpoint) isPod() bool { return !e.ip.IsValid() }

func (e endpoint) namespaceLabels() map[string]string {
	return map[string]string{"kubernetes.io/metadata.name": e.namespace}
}

type workload struct {
	name   string
	labels map[string]string
	spec   *corev1.PodSpec
}

func workloads(objs objects) []workload {
	var out []workload
	for _, d := range objs.deployments {
		out = append(out, workload{d.Name, d.Spec.Template.Labels, &d.Spec.Template.Spec})
	}
	for _, s := range objs.statefulSets {
		out = append(out, workload{s.Name, s.Spec.Template.Labels, &s.Spec.Template.Spec})
	}
	for _, p := range objs.pods {
		out = append(out, workload{p.Name, p.Labels, &p.Spec})
	}
	return out
}

// parseEndpoint reads one side of a probe:
//
//	NAME                       the pods of the rendered Deployment, StatefulSet or Pod NAME
//	ns:NAMESPACE[:k=v,k=v]     a pod with these labels in NAMESPACE (none of the chart's)
//	ip:ADDRESS                 an address outside the cluster
func parseEndpoint(objs objects, s string) (endpoint, error) {
	switch {
	case strings.HasPrefix(s, "ip:"):
		a, err := netip.ParseAddr(strings.TrimPrefix(s, "ip:"))
		if err != nil {
			return endpoint{}, err
		}
		return endpoint{desc: s, ip: a}, nil
	case strings.HasPrefix(s, "ns:"):
		parts := strings.SplitN(strings.TrimPrefix(s, "ns:"), ":", 2)
		e := endpoint{desc: s, namespace: parts[0], labels: map[string]string{}}
		if len(parts) == 2 && parts[1] != "" {
			for _, kv := range strings.Split(parts[1], ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return endpoint{}, fmt.Errorf("label %q is not k=v", kv)
				}
				e.labels[k] = v
			}
		}
		return e, nil
	default:
		for _, w := range workloads(objs) {
			if w.name == s {
				return endpoint{desc: s, namespace: objs.namespace, labels: w.labels, spec: w.spec}, nil
			}
		}
		return endpoint{}, fmt.Errorf("%s is not a rendered workload", s)
	}
}

// peerMatches: does a NetworkPolicyPeer of a policy in namespace ns select e?
func peerMatches(peer networkingv1.NetworkPolicyPeer, ns string, e endpoint) bool {
	if peer.IPBlock != nil {
		if e.isPod() {
			return false // pod addresses are not modelled; the chart's ipBlocks are for outside the cluster
		}
		if !prefixContains(peer.IPBlock.CIDR, e.ip) {
			return false
		}
		for _, ex := range peer.IPBlock.Except {
			if prefixContains(ex, e.ip) {
				return false
			}
		}
		return true
	}
	if !e.isPod() {
		return false
	}
	if peer.NamespaceSelector != nil {
		if !selectorMatches(peer.NamespaceSelector, e.namespaceLabels()) {
			return false
		}
	} else if e.namespace != ns {
		return false
	}
	if peer.PodSelector != nil {
		return selectorMatches(peer.PodSelector, e.labels)
	}
	return true
}

func prefixContains(cidr string, a netip.Addr) bool {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	return p.Contains(a)
}

// portMatches: does a policy port admit port/protocol on the destination
// (named ports are looked up on the destination pod's containers)?
func portMatches(pp networkingv1.NetworkPolicyPort, dst endpoint, port int32, protocol corev1.Protocol) bool {
	proto := corev1.ProtocolTCP
	if pp.Protocol != nil {
		proto = *pp.Protocol
	}
	if proto != protocol {
		return false
	}
	if pp.Port == nil {
		return true
	}
	if pp.Port.Type == intstr.String {
		if dst.spec == nil {
			return false
		}
		for _, c := range dst.spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == pp.Port.StrVal && cp.ContainerPort == port {
					return true
				}
			}
		}
		return false
	}
	if pp.EndPort != nil {
		return port >= pp.Port.IntVal && port <= *pp.EndPort
	}
	return pp.Port.IntVal == port
}

func hasPolicyType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return t == networkingv1.PolicyTypeIngress || (t == networkingv1.PolicyTypeEgress && len(np.Spec.Egress) > 0)
	}
	for _, pt := range np.Spec.PolicyTypes {
		if pt == t {
			return true
		}
	}
	return false
}

// allowed evaluates the rendered policies for a connection from src to dst:port/protocol.
// Policies apply to the chart's pods only (src and dst in the release namespace).
func allowed(objs objects, src, dst endpoint, port int32, protocol corev1.Protocol) (bool, string) {
	if src.spec != nil {
		selected := false
		ok := false
		for _, np := range objs.networkPolicies {
			if !hasPolicyType(np, networkingv1.PolicyTypeEgress) || !selectorMatches(&np.Spec.PodSelector, src.labels) {
				continue
			}
			selected = true
			for _, rule := range np.Spec.Egress {
				if !peersMatch(rule.To, np.Namespace, objs.namespace, dst) {
					continue
				}
				if portsMatch(rule.Ports, dst, port, protocol) {
					ok = true
				}
			}
		}
		if selected && !ok {
			return false, "no egress rule of " + src.desc + " admits it"
		}
	}
	if dst.spec != nil {
		selected := false
		ok := false
		for _, np := range objs.networkPolicies {
			if !hasPolicyType(np, networkingv1.PolicyTypeIngress) || !selectorMatches(&np.Spec.PodSelector, dst.labels) {
				continue
			}
			selected = true
			for _, rule := range np.Spec.Ingress {
				if !peersMatch(rule.From, np.Namespace, objs.namespace, src) {
					continue
				}
				if portsMatch(rule.Ports, dst, port, protocol) {
					ok = true
				}
			}
		}
		if selected && !ok {
			return false, "no ingress rule of " + dst.desc + " admits it"
		}
	}
	return true, ""
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNs, releaseNs string, e endpoint) bool {
	if policyNs == "" {
		policyNs = releaseNs
	}
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if peerMatches(p, policyNs, e) {
			return true
		}
	}
	return false
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, dst endpoint, port int32, protocol corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, pp := range ports {
		if portMatches(pp, dst, port, protocol) {
			return true
		}
	}
	return false
}

var probeSyntax = regexp.MustCompile(`^\s*(\S+)\s*->\s*(\S+):([0-9]+)(?:/(TCP|UDP|SCTP))?\s*$`)

func checkReach(objs objects, probe string, want bool) []string {
	m := probeSyntax.FindStringSubmatch(probe)
	if m == nil {
		return []string{`probe is not "FROM -> TO:PORT[/PROTOCOL]"`}
	}
	src, err := parseEndpoint(objs, m[1])
	if err != nil {
		return []string{"from: " + err.Error()}
	}
	dst, err := parseEndpoint(objs, m[2])
	if err != nil {
		return []string{"to: " + err.Error()}
	}
	port, _ := strconv.Atoi(m[3])
	protocol := corev1.ProtocolTCP
	if m[4] != "" {
		protocol = corev1.Protocol(m[4])
	}
	ok, why := allowed(objs, src, dst, int32(port), protocol)
	switch {
	case ok && !want:
		return []string{"allowed, want denied"}
	case !ok && want:
		return []string{"denied, want allowed: " + why}
	}
	return nil
}

func checkNetworkPolicy(objs objects, np *networkingv1.NetworkPolicy) []string {
	var errs []string
	var selected []workload
	for _, w := range workloads(objs) {
		if selectorMatches(&np.Spec.PodSelector, w.labels) {
			selected = append(selected, w)
		}
	}
	if len(selected) == 0 {
		errs = append(errs, "podSelector matches no rendered pod")
	}
	if len(np.Spec.PolicyTypes) == 0 {
		errs = append(errs, "no policyTypes")
	}
	var peers []networkingv1.NetworkPolicyPeer
	for _, r := range np.Spec.Ingress {
		peers = append(peers, r.From...)
		// A named ingress port must be a port of every selected pod.
		for _, pp := range r.Ports {
			if pp.Port == nil || pp.Port.Type != intstr.String {
				continue
			}
			for _, w := range selected {
				found := false
				for _, c := range w.spec.Containers {
					for _, cp := range c.Ports {
						if cp.Name == pp.Port.StrVal {
							found = true
						}
					}
				}
				if !found {
					errs = append(errs, fmt.Sprintf("ingress port %s is not a port of %s", pp.Port.StrVal, w.name))
				}
			}
		}
	}
	for _, r := range np.Spec.Egress {
		peers = append(peers, r.To...)
	}
	for _, p := range peers {
		if p.IPBlock == nil {
			continue
		}
		block, err := netip.ParsePrefix(p.IPBlock.CIDR)
		if err != nil {
			errs = append(errs, "ipBlock "+p.IPBlock.CIDR+": "+err.Error())
			continue
		}
		if block.Masked() != block {
			errs = append(errs, "ipBlock "+p.IPBlock.CIDR+" has host bits set (want "+block.Masked().String()+")")
		}
		for _, ex := range p.IPBlock.Except {
			e, err := netip.ParsePrefix(ex)
			if err != nil {
				errs = append(errs, "ipBlock except "+ex+": "+err.Error())
			} else if e.Masked() != e {
				errs = append(errs, "ipBlock except "+ex+" has host bits set")
			} else if e.Addr().Is4() != block.Addr().Is4() || e.Bits() <= block.Bits() || !block.Contains(e.Addr()) {
				errs = append(errs, "ipBlock except "+ex+" is not strictly inside "+p.IPBlock.CIDR)
			}
		}
	}
	return errs
}

// ---------------------------------------------------------------------------
// Prometheus Operator objects

func checkServiceMonitor(objs objects, sm *monitoringv1.ServiceMonitor) []string {
	var errs []string
	ns := sm.Spec.NamespaceSelector
	if !ns.Any && !(len(ns.MatchNames) == 1 && ns.MatchNames[0] == objs.namespace) {
		errs = append(errs, "namespaceSelector is not the release namespace")
	}
	var names []string
	for _, svc := range sortedServices(objs) {
		if selectorMatches(&sm.Spec.Selector, svc.Labels) {
			names = append(names, svc.Name)
			for _, ep := range sm.Spec.Endpoints {
				found := false
				for _, p := range svc.Spec.Ports {
					if p.Name == ep.Port {
						found = true
					}
				}
				if !found {
					errs = append(errs, fmt.Sprintf("Service %s has no port %q", svc.Name, ep.Port))
				}
			}
		}
	}
	if len(names) == 0 {
		errs = append(errs, "selects no rendered Service")
	}
	if len(sm.Spec.Endpoints) == 0 {
		errs = append(errs, "no endpoints")
	}
	fmt.Printf("servicemonitor %s selects %s\n", sm.Name, strings.Join(names, ","))
	return errs
}

func checkPrometheusRule(pr *monitoringv1.PrometheusRule, metrics []string) []string {
	var errs []string
	// The groups as a Prometheus rule file, validated as Prometheus loads one.
	type ruleYAML struct {
		Record      string            `yaml:"record,omitempty"`
		Alert       string            `yaml:"alert,omitempty"`
		Expr        string            `yaml:"expr"`
		For         string            `yaml:"for,omitempty"`
		Labels      map[string]string `yaml:"labels,omitempty"`
		Annotations map[string]string `yaml:"annotations,omitempty"`
	}
	type groupYAML struct {
		Name  string     `yaml:"name"`
		Rules []ruleYAML `yaml:"rules"`
	}
	var file struct {
		Groups []groupYAML `yaml:"groups"`
	}
	for _, g := range pr.Spec.Groups {
		gy := groupYAML{Name: g.Name}
		for _, r := range g.Rules {
			ry := ruleYAML{Record: r.Record, Alert: r.Alert, Expr: r.Expr.String(), Labels: r.Labels, Annotations: r.Annotations}
			if r.For != nil {
				ry.For = string(*r.For)
			}
			gy.Rules = append(gy.Rules, ry)
			if r.Alert != "" {
				if r.Labels["severity"] == "" {
					errs = append(errs, r.Alert+": no severity label")
				}
				if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
					errs = append(errs, r.Alert+": summary or description annotation missing")
				}
			}
			expr, err := parser.ParseExpr(r.Expr.String())
			if err != nil {
				continue // reported by rulefmt below
			}
			var used []string
			seen := map[string]bool{}
			parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
				if vs, ok := node.(*parser.VectorSelector); ok && !seen[vs.Name] {
					seen[vs.Name] = true
					used = append(used, vs.Name)
					if !metricAllowed(vs.Name, metrics) {
						errs = append(errs, fmt.Sprintf("%s%s: metric %q is not one the services or kube-state-metrics expose", r.Alert, r.Record, vs.Name))
					}
				}
				return nil
			})
			sort.Strings(used)
			fmt.Printf("alert %s%s uses %s\n", r.Alert, r.Record, strings.Join(used, ","))
		}
		file.Groups = append(file.Groups, gy)
	}
	content, err := yaml.Marshal(file)
	if err != nil {
		return append(errs, err.Error())
	}
	if _, ruleErrs := rulefmt.Parse(content, false); len(ruleErrs) > 0 {
		for _, e := range ruleErrs {
			errs = append(errs, "rule file: "+e.Error())
		}
	}
	return errs
}

func metricAllowed(name string, metrics []string) bool {
	if len(metrics) == 0 {
		return true
	}
	for _, m := range metrics {
		if m == name || (strings.HasSuffix(m, "*") && strings.HasPrefix(name, strings.TrimSuffix(m, "*"))) {
			return true
		}
	}
	return false
}
