// manifestcheck reads `helm template` output on stdin and checks it without a
// cluster: every document must decode strictly into its Kubernetes API type
// (unknown or duplicate fields and wrong types fail), and the objects must fit
// together (selectors match pod labels, probes and Services name container
// ports that exist, Ingress backends are rendered Services on their ports,
// Secrets and ConfigMaps referenced by pods exist unless declared external
// with -external-secret). It prints one line per object ("ok   decode Kind/name"),
// one per Ingress route ("route host/path Type -> service:port") and a closing
// "N passed, N failed".
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
	"os"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
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
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	services     map[string]*corev1.Service
	secrets      map[string]*corev1.Secret
	configMaps   map[string]*corev1.ConfigMap
	ingresses    []*networkingv1.Ingress
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	pdbs         []*policyv1.PodDisruptionBudget
	serviceAccts map[string]bool
}

func main() {
	var external stringList
	flag.Var(&external, "external-secret", "a Secret that exists outside the chart (repeatable)")
	flag.Parse()
	externalSet := map[string]bool{}
	for _, name := range external {
		externalSet[name] = true
	}

	codecs := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)
	decoder := codecs.UniversalDeserializer()
	objs := objects{
		services:     map[string]*corev1.Service{},
		secrets:      map[string]*corev1.Secret{},
		configMaps:   map[string]*corev1.ConfigMap{},
		serviceAccts: map[string]bool{},
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
		report("Deployment/"+d.Name, checkPod(objs, externalSet, d.Spec.Selector.MatchLabels, &d.Spec.Template))
	}
	for _, s := range objs.statefulSets {
		errs := checkPod(objs, externalSet, s.Spec.Selector.MatchLabels, &s.Spec.Template)
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

func checkPod(objs objects, external map[string]bool, selector map[string]string, t *corev1.PodTemplateSpec) []string {
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
		volumes[v.Name] = v
		if v.ConfigMap != nil {
			if _, ok := objs.configMaps[v.ConfigMap.Name]; !ok {
				errs = append(errs, "volume "+v.Name+": ConfigMap "+v.ConfigMap.Name+" is not rendered")
			}
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
			envNames[e.Name] = true
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				ref := e.ValueFrom.SecretKeyRef
				if s, ok := objs.secrets[ref.Name]; ok {
					if _, has := s.Data[ref.Key]; !has {
						if _, has := s.StringData[ref.Key]; !has {
							errs = append(errs, fmt.Sprintf("%s: env %s: Secret %s has no key %s", c.Name, e.Name, ref.Name, ref.Key))
						}
					}
				} else if !external[ref.Name] {
					errs = append(errs, fmt.Sprintf("%s: env %s: Secret %s is neither rendered nor declared external", c.Name, e.Name, ref.Name))
				}
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				if _, ok := objs.configMaps[ef.ConfigMapRef.Name]; !ok {
					errs = append(errs, c.Name+": envFrom ConfigMap "+ef.ConfigMapRef.Name+" is not rendered")
				}
			}
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok && !isClaimTemplate(objs, m.Name) {
				errs = append(errs, c.Name+": volumeMount "+m.Name+" has no volume")
			}
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
