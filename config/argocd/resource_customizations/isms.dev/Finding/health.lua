-- Argo CD health of an isms.dev Finding. A Finding is the operator's record of a failing
-- control in one namespace, not something Git declares: that it is Open means the operator
-- works, so every state is Healthy (compliance is read on the Control, whose health can opt
-- in to it). Progressing until the operator has written its first state. The message says
-- the state, the failing subjects and, when the Overdue condition is True, the due date.
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
if status == nil or status.state == nil or status.state == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to record the Finding"
  return hs
end
hs.status = "Healthy"
hs.message = text(status.state) .. ": " .. text(status.message)
local overdue = findCondition(status.conditions, "Overdue")
if overdue ~= nil and overdue.status == "True" then
  hs.message = hs.message .. " Overdue since " .. text(status.dueAt) .. "."
end
return hs
