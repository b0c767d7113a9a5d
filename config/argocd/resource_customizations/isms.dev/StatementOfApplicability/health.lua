-- Argo CD health of an isms.dev StatementOfApplicability: Degraded when an entry names a
-- requirement its framework's catalog lacks (RequirementsKnown False), so that a typo does not
-- leave a requirement unassessed unnoticed; Progressing until the status describes the current
-- generation; Healthy otherwise, with the totals and the approval. How far the requirements
-- are implemented is the Controls' health, not the statement's.
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
  hs.message = "Waiting for the operator to compute generation " .. text(generation)
  return hs
end
local known = findCondition(status.conditions, "RequirementsKnown")
local approved = findCondition(status.conditions, "Approved")
if known ~= nil and known.status == "False" then
  hs.status = "Degraded"
  hs.message = text(known.reason) .. ": " .. text(known.message)
  return hs
end
local t = status.totals or {}
hs.status = "Healthy"
hs.message = text(t.applicable) .. " applicable: " .. text(t.implemented) .. " implemented, " .. text(t.attested) ..
  " attested, " .. text(t.partial) .. " partial, " .. text(t.notImplemented) .. " not implemented, " ..
  text(t.notEvaluated) .. " not evaluated; " .. text(t.notAssessed) .. " not assessed"
if approved ~= nil then
  hs.message = hs.message .. ". " .. text(approved.reason) .. ": " .. text(approved.message)
end
return hs
