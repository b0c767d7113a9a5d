package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DocumentType is what kind of ISMS document it is.
// +kubebuilder:validation:Enum=Policy;Plan;Procedure;Standard;Guideline;Record;Other
type DocumentType string

const (
	DocumentPolicy    DocumentType = "Policy"
	DocumentPlan      DocumentType = "Plan"
	DocumentProcedure DocumentType = "Procedure"
	DocumentStandard  DocumentType = "Standard"
	DocumentGuideline DocumentType = "Guideline"
	DocumentRecord    DocumentType = "Record"
	DocumentOther     DocumentType = "Other"
)

// DocumentLocation is where the document's file is kept and the digest of the version this
// Document describes. The file stays in the organisation's document store, never in etcd, as
// an Attestation's artifacts do.
type DocumentLocation struct {
	// uri is where the file is kept (https://, s3://...).
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="uri must be an absolute URL"
	URI string `json:"uri"`
	// sha256 of the file's content, lower-case hex (sha256sum FILE).
	// +required
	// +kubebuilder:validation:Pattern=`^[a-f0-9]{64}$`
	SHA256 string `json:"sha256"`
	// size of the file in bytes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Size int64 `json:"size,omitempty"`
	// mediaType of the file, e.g. application/pdf.
	// +optional
	// +kubebuilder:validation:MaxLength=127
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$`
	MediaType string `json:"mediaType,omitempty"`
}

// DocumentSpec describes one ISMS document and the attested Control whose review it evidences.
type DocumentSpec struct {
	// title of the document, e.g. Information security policy.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title"`

	// documentType: Policy, Plan, Procedure, Standard, Guideline, Record or Other.
	// +required
	DocumentType DocumentType `json:"documentType"`

	// version is the document's own version label, e.g. 4.0. The approved version is the one
	// whose sha256 an approved attestation of the control holds.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Version string `json:"version"`

	// owner is who maintains the document: a person, a role or a team.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Owner string `json:"owner"`

	// location of the file and the digest of its content.
	// +required
	Location DocumentLocation `json:"location"`

	// control is the name of the attested Control whose attestations review the document
	// (e.g. isms-att-a-5-1-policies). Its spec.attestation sets the review cycle and its
	// approvers; a review is an Attestation of it with the document among its artifacts.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Control string `json:"control"`
}

// DocumentPhase is where a document stands in its review cycle.
// +kubebuilder:validation:Enum=Current;ReviewDue;Overdue;NotApproved;VersionChanged
type DocumentPhase string

const (
	// DocumentCurrent: the control's attestation in force approved this content.
	DocumentCurrent DocumentPhase = "Current"
	// DocumentReviewDue: current, and the control's renewal is due: review it now.
	DocumentReviewDue DocumentPhase = "ReviewDue"
	// DocumentOverdue: the review date has passed; the control fails and opens a Finding once
	// its grace is over too.
	DocumentOverdue DocumentPhase = "Overdue"
	// DocumentNotApproved: no approved attestation of the control includes the document, or
	// the one in force left it out.
	DocumentNotApproved DocumentPhase = "NotApproved"
	// DocumentVersionChanged: the content (sha256) is not the one the latest review approved.
	DocumentVersionChanged DocumentPhase = "VersionChanged"
)

// Reasons of a Document's Reviewed condition (ConditionReviewed, shared with Risks), which is
// True while its approved review is current (phase Current or ReviewDue), False otherwise.
// ReasonReviewCurrent and ReasonReviewOverdue are the Risks' too; ReasonControlNotAttested,
// the Attestations': the control does not exist or has no spec.attestation.
const (
	ReasonReviewDue = "ReviewDue"
	// ReasonReviewExpired: overdue, and the control's grace is over: it fails, with a Finding.
	ReasonReviewExpired = "ReviewExpired"
	ReasonNeverApproved = "NeverApproved"
	// ReasonNotInAttestationInForce: an older attestation approved the document, the one in
	// force of its control left it out.
	ReasonNotInAttestationInForce = "NotInAttestationInForce"
	ReasonVersionChanged          = "VersionChanged"
)

// Event reasons about Documents, on the Document: one for each phase it enters.
const (
	EventDocumentApproved       = "DocumentApproved"
	EventDocumentReviewDue      = "DocumentReviewDue"
	EventDocumentOverdue        = "DocumentReviewOverdue"
	EventDocumentNotApproved    = "DocumentNotApproved"
	EventDocumentVersionChanged = "DocumentVersionChanged"
)

// DocumentApproval is the latest approved review of the document: an Attestation of its
// control with the document among its artifacts. Who and when come from the Attestation's
// decision, which the admission webhook stamped from the API server's request.
type DocumentApproval struct {
	// attestation names the approved Attestation.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Attestation string `json:"attestation,omitempty"`
	// version is the document's version label at the approved content; empty when the content
	// changed before the operator saw it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Version string `json:"version,omitempty"`
	// sha256 of the approved content.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	SHA256 string `json:"sha256,omitempty"`
	// approvedBy is the Attestation's decidedBy.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	ApprovedBy string `json:"approvedBy,omitempty"`
	// approvedAt is the Attestation's decidedAt.
	// +optional
	ApprovedAt *metav1.Time `json:"approvedAt,omitempty"`
}

// FindingReference names a Finding.
type FindingReference struct {
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`
}

// DocumentStatus is what the operator makes of a Document.
type DocumentStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// phase: Current, ReviewDue, Overdue, NotApproved or VersionChanged.
	// +optional
	Phase DocumentPhase `json:"phase,omitempty"`
	// approved is the latest approved review of the document.
	// +optional
	Approved *DocumentApproval `json:"approved,omitempty"`
	// nextReview is when the review falls due: the control's attestation in force's dueAt,
	// set while that attestation includes the document.
	// +optional
	NextReview *metav1.Time `json:"nextReview,omitempty"`
	// failsAt is when the control fails, and opens a Finding, unless a new review is approved.
	// +optional
	FailsAt *metav1.Time `json:"failsAt,omitempty"`
	// finding is the control's open Finding, while there is one: an overdue review raises it
	// through the control.
	// +optional
	Finding *FindingReference `json:"finding,omitempty"`
	// conditions: Reviewed.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=4
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Document is an ISMS document (a policy, a plan, a procedure) whose owner, version, approval
// and review cycle the operator tracks. Its review is an Attestation of the attested Control
// it names, with the document's digest among the artifacts: the Control's schedule is the
// review cycle, its approvers approve, and an overdue review fails the Control and opens its
// Finding through the same lifecycle as any other.
//
// It is cluster-scoped, like the Control it evidences. Its name is the artifact name of its
// reviews (kubectl isms attest CONTROL --document NAME), hence at most 128 characters.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=isms,shortName=doc
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 128",message="a Document's name is the artifact name of its reviews: at most 128 characters"
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.spec.owner`
// +kubebuilder:printcolumn:name="Approved",type=string,JSONPath=`.status.approved.approvedAt`
// +kubebuilder:printcolumn:name="Next Review",type=string,JSONPath=`.status.nextReview`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`,priority=1
// +kubebuilder:printcolumn:name="Control",type=string,JSONPath=`.spec.control`,priority=1
// +kubebuilder:printcolumn:name="Approved Version",type=string,JSONPath=`.status.approved.version`,priority=1
// +kubebuilder:printcolumn:name="Approved By",type=string,JSONPath=`.status.approved.approvedBy`,priority=1
// +kubebuilder:printcolumn:name="Finding",type=string,JSONPath=`.status.finding.name`,priority=1
type Document struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec DocumentSpec `json:"spec"`
	// +optional
	Status DocumentStatus `json:"status,omitempty"`
}

// DocumentList is a list of Documents.
// +kubebuilder:object:root=true
type DocumentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Document `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(scheme *runtime.Scheme) error {
		scheme.AddKnownTypes(GroupVersion, &Document{}, &DocumentList{})
		return nil
	})
}
