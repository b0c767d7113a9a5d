-- Argo CD health of an isms.dev ControlException: Healthy while it is Active, Degraded once
-- it has Expired (its subjects count as failing again: renew it or remove it from Git),
-- Progressing until the operator has written the status of the current generation.
-- An invalid exception never gets a status: the operator's validating webhook refuses it, so
-- the sync fails instead.
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
if status == nil or status.phase == nil or status.observedGeneration == nil or (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to admit generation " .. text(generation)
  return hs
end
local active = findCondition(status.conditions, "Active")
local message = ""
if active ~= nil then
  message = text(active.message)
end
if status.phase == "Active" then
  hs.status = "Healthy"
  hs.message = message .. " Exempts " .. text(status.matchedSubjects or 0) .. " failing subject(s)."
elseif status.phase == "Expired" then
  hs.status = "Degraded"
  hs.message = message
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. text(status.phase)
end
return hs
