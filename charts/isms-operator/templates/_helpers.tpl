{{/*
The labels Helm adds to every object of the chart besides those config/ sets: who manages it,
which release and which chart version. test/chart strips exactly these when it compares the
chart with config/default. Never used in selectors (a chart upgrade would change them).
*/}}
{{- define "isms-operator.helmLabels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}
