package v1alpha1

// Severity ranks how much a failing control matters. It drives Finding priority and, in later
// releases, remediation due dates.
// +kubebuilder:validation:Enum=critical;high;medium;low;info
type Severity string

const (
	SeverityCritical Severity = "critical"
	SeverityHigh     Severity = "high"
	SeverityMedium   Severity = "medium"
	SeverityLow      Severity = "low"
	SeverityInfo     Severity = "info"
)

// FrameworkMapping says which requirements of one framework a control provides evidence for.
type FrameworkMapping struct {
	// framework names the standard, e.g. iso27001-2022, soc2-2017, nist-800-53-r5, cis-k8s-1.9.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`
	Framework string `json:"framework"`

	// requirements are the requirement identifiers within the framework, e.g. A.8.9.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	Requirements []string `json:"requirements"`
}
