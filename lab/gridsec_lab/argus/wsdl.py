"""Runtime ``?wsdl`` of the lab PAP, in the shape Apache Axis 1.4 generates at runtime for the real
PAP (a runtime WSDL downloaded from a production PAP is the model for XACMLPolicyManagementService):
``targetNamespace`` ``http://org.glite.authz/wsdl/pap/services/<service>`` (also ``impl:``/``intf:``),
part names as the Java parameters (``papAlias`` for listPolicies, ban, ...), rpc/literal with the input
body namespace ``http://services.pap.authz.glite.org`` and the output body namespace of the service,
XACML parameters typed with the opensaml types of ``urn:policy:xacml:opensaml:org`` (``PolicyType``,
``PolicyList`` with lax content...). For the bean services the lab describes arrays with items named
as they travel (``<op>Return``), so that suds can type the replies (the EGI probe reads them)."""
from xml.sax.saxutils import quoteattr

from .xmlutil import AXIS_NS, XACML

WSDL_BASE = "http://org.glite.authz/wsdl/pap/services/"
SHORT = {"XACMLPolicyManagementService": "xacml_policy_management",
         "HighLevelPolicyManagementService": "highlevel_policy_management",
         "PAPManagementService": "pap_management", "AuthorizationManagementService": "authz_management"}
PORT_TYPES = {"XACMLPolicyManagementService": "XACMLPolicyManagement",
              "HighLevelPolicyManagementService": "HighLevelPolicyManagement",
              "PAPManagementService": "PAPManagement", "AuthorizationManagementService": "PAPAuthorizationManagement"}
OPENSAML = "urn:policy:xacml:opensaml:org"
S, B, I, F = "xsd:string", "xsd:boolean", "xsd:int", "xsd:float"
POLICY, POLICYSET = "tns1:PolicyType", "tns1:PolicySetType"

# service -> {operation: ([(param, type)], return type | None)}; "array:<type>" for arrays,
# "xacmllist:<Policy|PolicySet>" for XACML lists.
SPEC = {
    "XACMLPolicyManagementService": {
        "listPolicies": ([("papAlias", S)], "tns1:PolicyList"),
        "listPolicySets": ([("papAlias", S)], "tns1:PolicySetList"),
        "getRootPolicySet": ([("alias", S)], POLICYSET),
        "getPolicy": ([("alias", S), ("policyId", S)], POLICY),
        "getPolicySet": ([("alias", S), ("policySetId", S)], POLICYSET),
        "hasPolicy": ([("alias", S), ("policyId", S)], B),
        "hasPolicySet": ([("alias", S), ("policySetId", S)], B),
        "addPolicy": ([("alias", S), ("index", I), ("policySetId", S), ("policyIdPrefix", S), ("policy", POLICY)], S),
        "addPolicies": ([("alias", S), ("index", I), ("policySetId", S),
                         ("policyIdPrefixArray", "impl:ArrayOf_xsd_string"), ("policyArray", "tns1:PolicyList")],
                        "impl:ArrayOf_xsd_string"),
        "addPolicySet": ([("alias", S), ("index", I), ("policySet", POLICYSET)], S),
        "storePolicy": ([("alias", S), ("idPrefix", S), ("policy", POLICY)], S),
        "storePolicySet": ([("alias", S), ("idPrefix", S), ("policySet", POLICYSET)], S),
        "updatePolicy": ([("alias", S), ("version", S), ("policy", POLICY)], B),
        "updatePolicySet": ([("alias", S), ("version", S), ("policySet", POLICYSET)], B),
        "removePolicy": ([("alias", S), ("policyId", S)], B),
        "removePolicySet": ([("alias", S), ("policySetId", S)], B),
        "removeObjectByIdAndReferences": ([("alias", S), ("id", S)], B),
        "move": ([("alias", S), ("id", S), ("pivotId", S), ("moveAfter", B)], None),
    },
    "HighLevelPolicyManagementService": {
        "ban": ([("papAlias", S), ("id", S), ("value", S), ("resource", S), ("action", S), ("isPublic", B)], S),
        "unban": ([("papAlias", S), ("id", S), ("value", S), ("resource", S), ("action", S)], "tns1:UnbanResult"),
        "addRule": ([("papAlias", S), ("isPermit", B), ("attributeList", "impl:ArrayOf_xsd_string"),
                     ("actionValue", S), ("resourceValue", S), ("actionId", S), ("ruleId", S), ("obligationId", S),
                     ("obligationScope", S), ("moveAfter", B)], S),
        "eraseRepository": ([("papAlias", S)], None),
        "purge": ([("papAlias", S), ("purgeUnreferencedPolicies", B), ("purgeEmptyPolicies", B),
                   ("purgeUnreferencedPolicySets", B), ("purgeEmptyPolicySets", B)], None),
    },
    "PAPManagementService": {
        "ping": ([], S),
        "getAllPaps": ([], "array:tns1:Pap"),
        "getPap": ([("papAlias", S)], "tns1:Pap"),
        "exists": ([("papAlias", S)], B),
        "addPap": ([("pap", "tns1:Pap")], B),
        "updatePap": ([("pap", "tns1:Pap")], B),
        "removePap": ([("papAlias", S)], B),
        "setEnabled": ([("alias", S), ("enabled", B)], None),
        "getOrder": ([], "array:" + S),
        "setOrder": ([("aliasArray", "impl:ArrayOf_xsd_string")], B),
        "getPollingInterval": ([], F),
        "setPollingInterval": ([("seconds", F)], None),
        "refreshCache": ([("papAlias", S)], B),
    },
    "AuthorizationManagementService": {
        "getACL": ([("context", S)], "array:tns1:PAPACE"),
        "addACE": ([("context", S), ("principal", "tns1:PAPPrincipal"), ("permissions", "impl:ArrayOf_xsd_string")],
                   None),
        "removeACE": ([("context", S), ("principal", "tns1:PAPPrincipal")], None),
        "setACL": ([("context", S), ("acl", "tns1:ArrayOfPAPACE")], None),
    },
}

_BEANS = """
   <complexType name="Pap"><sequence>
    <element name="alias" nillable="true" type="xsd:string"/>
    <element name="id" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="dn" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="hostname" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="port" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="path" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="protocol" nillable="true" type="xsd:string" minOccurs="0"/>
    <element name="visibilityPublic" type="xsd:boolean"/>
    <element name="local" type="xsd:boolean"/>
    <element name="enabled" type="xsd:boolean"/>
   </sequence></complexType>
   <complexType name="UnbanResult"><sequence>
    <element name="statusCode" type="xsd:int"/>
    <element name="conflictingPolicies" nillable="true" type="impl:ArrayOf_xsd_string"/>
   </sequence></complexType>
   <complexType name="PAPPrincipal"><sequence>
    <element name="type" nillable="true" type="xsd:string"/>
    <element name="name" nillable="true" type="xsd:string"/>
   </sequence></complexType>
   <complexType name="PAPACE"><sequence>
    <element name="principal" nillable="true" type="tns1:PAPPrincipal"/>
    <element name="permissions" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
   </sequence></complexType>
   <complexType name="ArrayOfPAPACE"><sequence>
    <element name="item" type="tns1:PAPACE" minOccurs="0" maxOccurs="unbounded"/>
   </sequence></complexType>
"""

_OPENSAML_TYPES = """   <complexType name="PolicyType"/>
   <complexType name="PolicyList">
      <xsd:sequence>
          <xsd:any namespace="##any" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
      </xsd:sequence>
      <xsd:attribute name="DataType" type="xsd:anyURI" use="required"/>
      <xsd:anyAttribute namespace="##any" processContents="lax"/>
   </complexType>
   <complexType name="PolicySetType"/>
   <complexType name="PolicySetList">
    <sequence>
     <element maxOccurs="unbounded" minOccurs="0" name="item" type="tns1:PolicySetType"/>
    </sequence>
   </complexType>
"""

_STRING_ARRAY = """   <complexType name="ArrayOf_xsd_string">
    <sequence>
     <element maxOccurs="unbounded" minOccurs="0" name="item" type="xsd:string"/>
    </sequence>
   </complexType>
"""


def _return_type(op, rtype, extra):
    if rtype is None or not rtype.startswith("array:"):
        return rtype
    name = "ArrayOf_%sReturn" % op
    extra.append('   <complexType name="%s"><sequence><element name="%sReturn" type="%s" nillable="true" '
                 'minOccurs="0" maxOccurs="unbounded"/></sequence></complexType>' % (name, op, rtype[6:]))
    return "tns1:" + name


def runtime_wsdl(service, url):
    if service not in SPEC:
        return _provisioning_wsdl(url)
    ops = SPEC[service]
    tns = WSDL_BASE + SHORT[service]
    is_xacml = service == "XACMLPolicyManagementService"
    tns1 = OPENSAML if is_xacml else AXIS_NS
    extra = []
    returns = {op: _return_type(op, r, extra) for op, (params, r) in ops.items()}
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<wsdl:definitions targetNamespace="%s" xmlns:apachesoap="http://xml.apache.org/xml-soap" '
           'xmlns:impl="%s" xmlns:intf="%s" xmlns:tns1="%s" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
           'xmlns:wsdlsoap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"%s>'
           % (tns, tns, tns, tns1, ' xmlns:xsd1="%s"' % XACML if is_xacml else ""),
           '<!--WSDL created by the gridsec lab PAP in the shape of Apache Axis version: 1.4-->',
           ' <wsdl:types>']
    if is_xacml:
        out += ['  <schema targetNamespace="%s" xmlns="http://www.w3.org/2001/XMLSchema">' % OPENSAML,
                '   <import namespace="%s"/>' % tns,
                '   <import namespace="http://schemas.xmlsoap.org/soap/encoding/"/>',
                _OPENSAML_TYPES, '  </schema>']
    else:
        out += ['  <schema elementFormDefault="qualified" targetNamespace="%s" '
                'xmlns="http://www.w3.org/2001/XMLSchema">' % AXIS_NS,
                '   <import namespace="%s"/>' % tns, _BEANS] + extra + ['  </schema>']
    out += ['  <schema targetNamespace="%s" xmlns="http://www.w3.org/2001/XMLSchema">' % tns,
            '   <import namespace="%s"/>' % tns1,
            '   <import namespace="http://schemas.xmlsoap.org/soap/encoding/"/>', _STRING_ARRAY, '  </schema>',
            ' </wsdl:types>']
    for op, (params, _r) in ops.items():
        out.append('   <wsdl:message name="%sRequest">' % op)
        for name, ptype in params:
            out.append('      <wsdl:part name="%s" type="%s"/>' % (name, ptype))
        out.append('   </wsdl:message>')
        out.append('   <wsdl:message name="%sResponse">' % op)
        if returns[op]:
            out.append('      <wsdl:part name="%sReturn" type="%s"/>' % (op, returns[op]))
        out.append('   </wsdl:message>')
    port_type = PORT_TYPES[service]
    out.append('   <wsdl:portType name="%s">' % port_type)
    for op, (params, _r) in ops.items():
        order = " ".join(name for name, _ in params)
        out.append('      <wsdl:operation name="%s"%s>' % (op, ' parameterOrder="%s"' % order if order else ""))
        out.append('         <wsdl:input message="impl:%sRequest" name="%sRequest"/>' % (op, op))
        out.append('         <wsdl:output message="impl:%sResponse" name="%sResponse"/>' % (op, op))
        out.append('      </wsdl:operation>')
    out.append('   </wsdl:portType>')
    out.append('   <wsdl:binding name="%sSoapBinding" type="impl:%s">' % (service, port_type))
    out.append('      <wsdlsoap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>')
    for op in ops:
        out += ['      <wsdl:operation name="%s">' % op,
                '         <wsdlsoap:operation soapAction=""/>',
                '         <wsdl:input name="%sRequest">' % op,
                '            <wsdlsoap:body namespace="%s" use="literal"/>' % AXIS_NS,
                '         </wsdl:input>',
                '         <wsdl:output name="%sResponse">' % op,
                '            <wsdlsoap:body namespace="%s" use="literal"/>' % tns,
                '         </wsdl:output>',
                '      </wsdl:operation>']
    out.append('   </wsdl:binding>')
    out += ['   <wsdl:service name="%s">' % service,
            '      <wsdl:port binding="impl:%sSoapBinding" name="%s">' % (service, service),
            '         <wsdlsoap:address location=%s/>' % quoteattr(url),
            '      </wsdl:port>', '   </wsdl:service>', '</wsdl:definitions>']
    return "\n".join(out).encode("utf-8")


def xacml_xsd():
    """A lax schema for the XACML objects the PAP returns (the lab's own description, not the OASIS
    schema): Policy and PolicySet with their attributes and any XACML content."""
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xacml="%(ns)s" targetNamespace="%(ns)s"
    elementFormDefault="qualified">
 <xsd:element name="Policy" type="xacml:PolicyType"/>
 <xsd:element name="PolicySet" type="xacml:PolicySetType"/>
 <xsd:complexType name="PolicyType">
  <xsd:sequence><xsd:any namespace="##targetNamespace" processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence>
  <xsd:attribute name="PolicyId" type="xsd:string" use="required"/>
  <xsd:attribute name="Version" type="xsd:string"/>
  <xsd:attribute name="RuleCombiningAlgId" type="xsd:string" use="required"/>
 </xsd:complexType>
 <xsd:complexType name="PolicySetType">
  <xsd:sequence><xsd:any namespace="##targetNamespace" processContents="skip" minOccurs="0" maxOccurs="unbounded"/>
  </xsd:sequence>
  <xsd:attribute name="PolicySetId" type="xsd:string" use="required"/>
  <xsd:attribute name="Version" type="xsd:string"/>
  <xsd:attribute name="PolicyCombiningAlgId" type="xsd:string" use="required"/>
 </xsd:complexType>
</xsd:schema>
""" % {"ns": XACML}).encode("utf-8")


def _provisioning_wsdl(url):
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions targetNamespace="http://org.glite.authz/wsdl/pap/services/provisioning"
  xmlns:tns="http://org.glite.authz/wsdl/pap/services/provisioning" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
  xmlns:wsdlsoap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  xmlns:samlxacml="urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:protocol"
  xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">
 <!--document/literal; the lab serves no schema for the SAML/XACML profile types-->
 <wsdl:message name="XACMLPolicyQueryRequest"><wsdl:part name="query" element="samlxacml:XACMLPolicyQuery"/></wsdl:message>
 <wsdl:message name="XACMLPolicyQueryResponse"><wsdl:part name="response" element="samlp:Response"/></wsdl:message>
 <wsdl:portType name="Provisioning"><wsdl:operation name="XACMLPolicyQuery">
  <wsdl:input message="tns:XACMLPolicyQueryRequest"/><wsdl:output message="tns:XACMLPolicyQueryResponse"/>
 </wsdl:operation></wsdl:portType>
 <wsdl:binding name="ProvisioningServiceSoapBinding" type="tns:Provisioning">
  <wsdlsoap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
  <wsdl:operation name="XACMLPolicyQuery"><wsdlsoap:operation soapAction=""/>
   <wsdl:input><wsdlsoap:body use="literal"/></wsdl:input><wsdl:output><wsdlsoap:body use="literal"/></wsdl:output>
  </wsdl:operation>
 </wsdl:binding>
 <wsdl:service name="ProvisioningService"><wsdl:port binding="tns:ProvisioningServiceSoapBinding"
   name="ProvisioningService"><wsdlsoap:address location=%s/></wsdl:port></wsdl:service>
</wsdl:definitions>
""" % quoteattr(url)).encode("utf-8")
