{{/*
Names, labels and the pieces every workload shares. Each helper that needs a component takes a
dict: (dict "root" $ "name" $name "c" $component).
*/}}

{{- define "govproj.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "govproj.componentName" -}}
{{- printf "%s-%s" (include "govproj.fullname" .root) .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "govproj.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "govproj.labels" -}}
{{ include "govproj.selectorLabels" . }}
app.kubernetes.io/part-of: govproj
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* Environment prefix of a component's settings: GOVPROJ_<NAME>_. */}}
{{- define "govproj.envPrefix" -}}
{{- printf "GOVPROJ_%s_" (upper .name) -}}
{{- end -}}

{{/* <registry>/<repository>:<tag>, or @<digest> when a digest is pinned. */}}
{{- define "govproj.image" -}}
{{- $img := .c.image -}}
{{- if $img.digest -}}
{{- printf "%s/%s@%s" .root.Values.global.imageRegistry $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" .root.Values.global.imageRegistry $img.repository $img.tag -}}
{{- end -}}
{{- end -}}

{{/*
checkov skips that hold for every pod of the chart, each with its reason (annotation values).
CKV_K8S_43 (image by digest) is skipped only while a component pins a tag instead of a digest;
CKV_K8S_35 only where the pod gets secrets (pass "secrets" false otherwise); CKV_K8S_15 (pull
Always) only for digest-pinned images.
*/}}
{{- define "govproj.checkovSkips" -}}
{{- if ne (toString .secrets) "false" }}
checkov.io/skip1: CKV_K8S_35=pydantic-settings reads secrets from env only; they come from secretKeyRef, never literals
{{- end }}
{{- if not .c.image.digest }}
checkov.io/skip2: CKV_K8S_43=tag-pinned by default; set image.digest per component to pin by digest
{{- end }}
{{- if and .c.image.digest (ne .root.Values.global.imagePullPolicy "Always") }}
checkov.io/skip5: CKV_K8S_15=image pinned by digest, so IfNotPresent cannot run a stale image
{{- end }}
{{- end -}}

{{/* Run-to-completion Jobs have no server a probe could ask. */}}
{{- define "govproj.jobProbeSkips" -}}
checkov.io/skip3: CKV_K8S_8=run-to-completion hook Job, no server for a liveness probe
checkov.io/skip4: CKV_K8S_9=run-to-completion hook Job, no server for a readiness probe
{{- end -}}

{{/* Pod-level hardening: non-root, high UID, RuntimeDefault seccomp, no API token. */}}
{{- define "govproj.podSecurity" -}}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .root.Values.global.runAsUser }}
  runAsGroup: {{ .root.Values.global.runAsUser }}
  fsGroup: {{ .root.Values.global.runAsUser }}
  seccompProfile:
    type: RuntimeDefault
{{- with .root.Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Container-level hardening: read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "govproj.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .root.Values.global.runAsUser }}
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  privileged: false
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* The only writable path: /tmp (Python's tempfile, uvicorn, spooled uploads). */}}
{{- define "govproj.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .c.tmpSizeLimit | default "64Mi" }}
{{- end -}}

{{- define "govproj.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* A secretKeyRef env entry: (dict "env" NAME "secret" SECRET "key" KEY). */}}
{{- define "govproj.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end -}}

{{/*
The non-secret settings of a component (ConfigMap data). Names must be fields of the component's
settings class: `make helm-check` verifies every one.
*/}}
{{- define "govproj.configData" -}}
{{- $g := .root.Values.global -}}
{{- $p := include "govproj.envPrefix" . -}}
{{ $p }}ENV: {{ $g.env | quote }}
{{ $p }}HTTP_HOST: "0.0.0.0"
{{ $p }}HTTP_PORT: {{ .c.ports.http | quote }}
{{ $p }}OIDC_SERVER_URL: {{ $g.oidc.serverUrl | quote }}
{{ $p }}LOG_LEVEL: {{ $g.logLevel | quote }}
{{- if eq .c.kind "service" }}
{{ $p }}GRPC_HOST: "0.0.0.0"
{{ $p }}GRPC_PORT: {{ .c.ports.grpc | quote }}
{{ $p }}NATS_URL: {{ $g.nats.url | quote }}
{{ $p }}OIDC_REALM: {{ $g.oidc.realm | quote }}
{{ $p }}OTEL_EXPORTER: {{ $g.otel.exporter | quote }}
{{- if $g.otel.endpoint }}
{{ $p }}OTEL_ENDPOINT: {{ $g.otel.endpoint | quote }}
{{- end }}
{{- if hasKey $g.otel "sampleRatio" }}
{{ $p }}OTEL_SAMPLE_RATIO: {{ $g.otel.sampleRatio | toString | quote }}
{{- end }}
{{ $p }}POLICIES_DIR: {{ $g.policiesDir | quote }}
{{ $p }}RUN_MIGRATIONS: "false"
{{- with .c.objectStore }}{{ if .enabled }}
{{ $p }}OBJECT_STORE_URL: {{ include "govproj.objectStoreUrl" (dict "g" $g "o" .) | quote }}
{{- end }}{{ end }}
{{- with .c.mailer }}{{ if .enabled }}
{{ $p }}MAILER_URL: {{ include "govproj.mailerUrl" . | quote }}
{{- if .mailDomain }}
{{ $p }}MAIL_DOMAIN: {{ .mailDomain | quote }}
{{- end }}
{{- end }}{{ end }}
{{- with .c.uploads }}
{{ $p }}MAX_UPLOAD_BYTES: {{ .maxBytes | int64 | toString | quote }}
{{ $p }}ALLOWED_UPLOAD_TYPES: {{ toJson .allowedTypes | quote }}
{{- end }}
{{- range $n := .c.grpcPeers }}
{{- $peer := index $.root.Values.components $n }}
{{ $p }}{{ upper $n }}_GRPC_TARGET: {{ printf "%s:%v" (include "govproj.componentName" (dict "root" $.root "name" $n)) $peer.ports.grpc | quote }}
{{- end }}
{{- else }}
{{- $services := dict -}}
{{- range $n, $other := .root.Values.components }}
{{- if and $other.enabled (eq $other.kind "service") }}
{{- $_ := set $services $n (printf "http://%s:%v" (include "govproj.componentName" (dict "root" $.root "name" $n)) $other.ports.http) -}}
{{- end }}
{{- end }}
{{ $p }}SERVICES: {{ toJson $services | quote }}
{{ $p }}OIDC_REALM: {{ $g.oidc.realm | quote }}
{{ $p }}NATS_URL: {{ $g.nats.url | quote }}
{{- range $n := list "intake" "review" "procurement" "acceptance" "evaluation" }}
{{- $svc := index $.root.Values.components $n }}
{{ $p }}{{ upper $n }}_GRPC_TARGET: {{ printf "%s:%v" (include "govproj.componentName" (dict "root" $.root "name" $n)) $svc.ports.grpc | quote }}
{{- end }}
{{- end }}
{{- range $k, $v := .c.config }}
{{ $p }}{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end -}}


{{/*
s3://<bucket>?endpoint=...&region=... (govkit.objectstore): (dict "g" .Values.global "o" $c.objectStore).
Credentials are never part of the URL; they come from the Secret (govproj.objectStoreEnv).
*/}}
{{- define "govproj.objectStoreUrl" -}}
{{- $q := list -}}
{{- with .g.objectStore.endpoint }}{{ $q = append $q (printf "endpoint=%s" (urlquery .)) }}{{ end -}}
{{- $q = append $q (printf "region=%s" (urlquery .g.objectStore.region)) -}}
{{- printf "s3://%s?%s" .o.bucket (join "&" $q) -}}
{{- end -}}

{{/*
smtp://host:port?starttls=1&from=... | smtps://host:port?from=... | smtp://host:port?from=...
(govkit.mail), from a component's mailer values. No credentials in the URL.
*/}}
{{- define "govproj.mailerUrl" -}}
{{- $scheme := ternary "smtps" "smtp" (eq .security "tls") -}}
{{- $q := list -}}
{{- if eq .security "starttls" }}{{ $q = append $q "starttls=1" }}{{ end -}}
{{- $q = append $q (printf "from=%s" (urlquery .from)) -}}
{{- printf "%s://%s:%v?%s" $scheme .host .port (join "&" $q) -}}
{{- end -}}

{{/* secretKeyRef env of a service's object-store and mail-relay credentials (when enabled). */}}
{{- define "govproj.storageSecretEnv" -}}
{{- $p := include "govproj.envPrefix" . -}}
{{- with .c.objectStore }}{{ if .enabled }}
{{- $name := .secret.name | default $.c.secret.name }}
{{ include "govproj.secretEnv" (dict "env" (printf "%sOBJECT_STORE_ACCESS_KEY" $p) "secret" $name "key" .secret.accessKeyKey) }}
{{ include "govproj.secretEnv" (dict "env" (printf "%sOBJECT_STORE_SECRET_KEY" $p) "secret" $name "key" .secret.secretKeyKey) }}
{{- end }}{{ end }}
{{- with .c.mailer }}{{ if and .enabled .auth }}
{{- $name := .secret.name | default $.c.secret.name }}
{{ include "govproj.secretEnv" (dict "env" (printf "%sMAILER_USERNAME" $p) "secret" $name "key" .secret.usernameKey) }}
{{ include "govproj.secretEnv" (dict "env" (printf "%sMAILER_PASSWORD" $p) "secret" $name "key" .secret.passwordKey) }}
{{- end }}{{ end }}
{{- with .c.tradingWebhook }}{{ if .enabled }}
{{- $name := .secret.name | default $.c.secret.name }}
{{ include "govproj.secretEnv" (dict "env" (printf "%sTRADING_WEBHOOK_SECRET" $p) "secret" $name "key" .secret.key) }}
{{- end }}{{ end }}
{{- end -}}
