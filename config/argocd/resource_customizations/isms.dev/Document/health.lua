-- Argo CD health of an isms.dev Document: Progressing until the status describes the current
-- generation, and while the document awaits its first review (NotApproved, NeverApproved);
-- Degraded when its review is overdue, its content changed since the approved version, the
-- attestation in force of its control left it out, or its control is not attested; Healthy
-- while its review is current (Current, ReviewDue).
-- Uses only what Argo CD's default Lua VM opens (no string library).
local function findCondition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function text(value)
  if value == nil then
    return ""
  end
  return tostring(value)
end

local hs = {}
local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.observedGeneration == nil or (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to review generation " .. text(generation)
  return hs
end
local reviewed = findCondition(status.conditions, "Reviewed")
if reviewed == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to review the document"
elseif reviewed.status == "True" then
  hs.status = "Healthy"
  hs.message = text(status.phase) .. ": " .. text(reviewed.message)
elseif reviewed.reason == "NeverApproved" then
  hs.status = "Progressing"
  hs.message = text(reviewed.reason) .. ": " .. text(reviewed.message)
else
  hs.status = "Degraded"
  hs.message = text(reviewed.reason) .. ": " .. text(reviewed.message)
end
return hs
