"use strict";
(() => {
  var __defProp = Object.defineProperty;
  var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
  var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

  // node_modules/@cfworker/json-schema/dist/esm/deep-compare-strict.js
  function deepCompareStrict(a, b) {
    const typeofa = typeof a;
    if (typeofa !== typeof b) {
      return false;
    }
    const aIsArray = Array.isArray(a);
    const bIsArray = Array.isArray(b);
    if (aIsArray !== bIsArray) {
      return false;
    }
    if (aIsArray) {
      const length = a.length;
      if (length !== b.length) {
        return false;
      }
      for (let i = 0; i < length; i++) {
        if (!deepCompareStrict(a[i], b[i])) {
          return false;
        }
      }
      return true;
    }
    if (typeofa === "object") {
      if (!a || !b) {
        return a === b;
      }
      const aKeys = Object.keys(a);
      const bKeys = Object.keys(b);
      const length = aKeys.length;
      if (length !== bKeys.length) {
        return false;
      }
      for (const k of aKeys) {
        if (!Object.prototype.hasOwnProperty.call(b, k)) {
          return false;
        }
        if (!deepCompareStrict(a[k], b[k])) {
          return false;
        }
      }
      return true;
    }
    return a === b;
  }

  // node_modules/@cfworker/json-schema/dist/esm/pointer.js
  function encodePointer(p) {
    return encodeURI(escapePointer(p)).replace(/#/g, "%23");
  }
  function escapePointer(p) {
    return p.replace(/~/g, "~0").replace(/\//g, "~1");
  }

  // node_modules/@cfworker/json-schema/dist/esm/dereference.js
  var uriFragmentCharacter = /^[A-Za-z0-9._~!$&'()*+,;=:@/?-]$/;
  var uriPercentEncoding = /^%[0-9A-Fa-f]{2}$/;
  var uriUnreservedCharacter = /^[A-Za-z0-9._~-]$/;
  function normalizeURIFragment(fragment) {
    let normalized = "";
    for (let index = 0; index < fragment.length; ) {
      const character = fragment[index];
      const encoded = fragment.slice(index, index + 3);
      if (character === "%" && uriPercentEncoding.test(encoded)) {
        const decoded = String.fromCharCode(parseInt(encoded.slice(1), 16));
        normalized += uriUnreservedCharacter.test(decoded) ? decoded : encoded.toUpperCase();
        index += 3;
        continue;
      }
      const codePoint = String.fromCodePoint(fragment.codePointAt(index));
      normalized += uriFragmentCharacter.test(codePoint) ? codePoint : encodeURIComponent(codePoint);
      index += codePoint.length;
    }
    return normalized;
  }
  function resolveURI(reference, baseURI) {
    const url = new URL(reference, baseURI.href);
    url.hash = url.hash ? normalizeURIFragment(url.hash.slice(1)) : "";
    return url;
  }
  var schemaArrayKeyword = {
    prefixItems: true,
    items: true,
    allOf: true,
    anyOf: true,
    oneOf: true
  };
  var schemaMapKeyword = {
    $defs: true,
    definitions: true,
    properties: true,
    patternProperties: true,
    dependentSchemas: true
  };
  var ignoredKeyword = {
    id: true,
    $id: true,
    $ref: true,
    $schema: true,
    $anchor: true,
    $vocabulary: true,
    $comment: true,
    default: true,
    enum: true,
    const: true,
    required: true,
    dependentRequired: true,
    type: true,
    maximum: true,
    minimum: true,
    exclusiveMaximum: true,
    exclusiveMinimum: true,
    multipleOf: true,
    maxLength: true,
    minLength: true,
    pattern: true,
    format: true,
    maxItems: true,
    minItems: true,
    uniqueItems: true,
    maxProperties: true,
    minProperties: true
  };
  var initialBaseURI = typeof self !== "undefined" && self.location && self.location.origin !== "null" ? new URL(self.location.origin + self.location.pathname + location.search) : new URL("https://github.com/cfworker");
  function dereference(schema, lookup = /* @__PURE__ */ Object.create(null), baseURI = initialBaseURI, basePointer = "") {
    if (schema && typeof schema === "object" && !Array.isArray(schema)) {
      const id = schema.$id || schema["id"];
      if (id) {
        const url = resolveURI(id, baseURI);
        if (url.hash.length > 1) {
          lookup[url.href] = schema;
        } else {
          url.hash = "";
          if (basePointer === "") {
            baseURI = url;
          } else {
            dereference(schema, lookup, baseURI);
          }
        }
      }
    } else if (schema !== true && schema !== false) {
      return lookup;
    }
    const schemaURI = baseURI.href + (basePointer ? "#" + basePointer : "");
    if (lookup[schemaURI] !== void 0 && lookup[schemaURI] !== schema) {
      throw new Error(`Duplicate schema URI "${schemaURI}".`);
    }
    lookup[schemaURI] = schema;
    if (schema === true || schema === false) {
      return lookup;
    }
    if (schema.__absolute_uri__ === void 0) {
      Object.defineProperty(schema, "__absolute_uri__", {
        enumerable: false,
        value: schemaURI
      });
    }
    if (schema.$ref && schema.__absolute_ref__ === void 0) {
      const url = resolveURI(schema.$ref, baseURI);
      Object.defineProperty(schema, "__absolute_ref__", {
        enumerable: false,
        value: url.href
      });
    }
    if (schema.$recursiveRef && schema.__absolute_recursive_ref__ === void 0) {
      const url = resolveURI(schema.$recursiveRef, baseURI);
      Object.defineProperty(schema, "__absolute_recursive_ref__", {
        enumerable: false,
        value: url.href
      });
    }
    if (schema.$anchor) {
      const url = resolveURI("#" + schema.$anchor, baseURI);
      lookup[url.href] = schema;
    }
    for (let key in schema) {
      if (ignoredKeyword[key]) {
        continue;
      }
      const keyBase = `${basePointer}/${encodePointer(key)}`;
      const subSchema = schema[key];
      if (Array.isArray(subSchema)) {
        if (schemaArrayKeyword[key]) {
          const length = subSchema.length;
          for (let i = 0; i < length; i++) {
            dereference(subSchema[i], lookup, baseURI, `${keyBase}/${i}`);
          }
        }
      } else if (schemaMapKeyword[key]) {
        for (let subKey in subSchema) {
          dereference(subSchema[subKey], lookup, baseURI, `${keyBase}/${encodePointer(subKey)}`);
        }
      } else {
        dereference(subSchema, lookup, baseURI, keyBase);
      }
    }
    return lookup;
  }

  // node_modules/@cfworker/json-schema/dist/esm/format.js
  var DATE = /^(\d\d\d\d)-(\d\d)-(\d\d)$/;
  var DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  var TIME = /^(\d\d):(\d\d):(\d\d)(\.\d+)?(z|([+-])(\d\d):(\d\d))?$/i;
  var HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*$/i;
  var URIREF = /^(?:[a-z][a-z0-9+\-.]*:)?(?:\/?\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+)\]|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)|(?:[a-z0-9\-._~!$&'"()*+,;=]|%[0-9a-f]{2})*)(?::\d*)?(?:\/(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})*)*|\/(?:(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'"()*+,;=:@]|%[0-9a-f]{2})*)*)?(?:\?(?:[a-z0-9\-._~!$&'"()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\-._~!$&'"()*+,;=:@/?]|%[0-9a-f]{2})*)?$/i;
  var URITEMPLATE = /^(?:(?:[^\x00-\x20\x7f"<>%\\^`{|}]|%[0-9a-f]{2})|\{[+#./;?&=,!@|]?(?:[a-z0-9_]|%[0-9a-f]{2})+(?:\.(?:[a-z0-9_]|%[0-9a-f]{2})+)*(?::[1-9][0-9]{0,3}|\*)?(?:,(?:[a-z0-9_]|%[0-9a-f]{2})+(?:\.(?:[a-z0-9_]|%[0-9a-f]{2})+)*(?::[1-9][0-9]{0,3}|\*)?)*\})*$/i;
  var URL_ = /^(?:(?:https?|ftp):\/\/)(?:\S+(?::\S*)?@)?(?:(?!10(?:\.\d{1,3}){3})(?!127(?:\.\d{1,3}){3})(?!169\.254(?:\.\d{1,3}){2})(?!192\.168(?:\.\d{1,3}){2})(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))|(?:(?:[a-z\u{00a1}-\u{ffff}0-9]+-?)*[a-z\u{00a1}-\u{ffff}0-9]+)(?:\.(?:[a-z\u{00a1}-\u{ffff}0-9]+-?)*[a-z\u{00a1}-\u{ffff}0-9]+)*(?:\.(?:[a-z\u{00a1}-\u{ffff}]{2,})))(?::\d{2,5})?(?:\/[^\s]*)?$/iu;
  var UUID = /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i;
  var JSON_POINTER = /^(?:\/(?:[^~/]|~0|~1)*)*$/;
  var JSON_POINTER_URI_FRAGMENT = /^#(?:\/(?:[a-z0-9_\-.!$&'()*+,;:=@]|%[0-9a-f]{2}|~0|~1)*)*$/i;
  var RELATIVE_JSON_POINTER = /^(?:0|[1-9][0-9]*)(?:#|(?:\/(?:[^~/]|~0|~1)*)*)$/;
  var EMAIL_ADDRESS = /^("(?:[\x20-\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"|[a-z0-9.!#$%&'*+/=?^_`{|}~-]+)@(.+)$/i;
  var EMAIL = (input) => {
    const matches = input.match(EMAIL_ADDRESS);
    if (!matches)
      return false;
    const name = matches[1];
    const host = matches[2];
    if (!name || !host || name.length > 64 || host.length > 253)
      return false;
    if (name[0] !== '"' && (name[0] === "." || name.endsWith(".") || name.includes(".."))) {
      return false;
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      const address = host.slice(1, -1);
      if (/^ipv6:/i.test(address))
        return IPV6.test(address.slice(5));
      return IPV4.test(address);
    }
    return HOSTNAME.test(host);
  };
  var IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)$/;
  var IPV6 = /^((([0-9a-f]{1,4}:){7}([0-9a-f]{1,4}|:))|(([0-9a-f]{1,4}:){6}(:[0-9a-f]{1,4}|((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9a-f]{1,4}:){5}(((:[0-9a-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9a-f]{1,4}:){4}(((:[0-9a-f]{1,4}){1,3})|((:[0-9a-f]{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9a-f]{1,4}:){3}(((:[0-9a-f]{1,4}){1,4})|((:[0-9a-f]{1,4}){0,2}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9a-f]{1,4}:){2}(((:[0-9a-f]{1,4}){1,5})|((:[0-9a-f]{1,4}){0,3}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9a-f]{1,4}:){1}(((:[0-9a-f]{1,4}){1,6})|((:[0-9a-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(:(((:[0-9a-f]{1,4}){1,7})|((:[0-9a-f]{1,4}){0,5}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))$/i;
  var DURATION = (input) => /^P(?:\d+W|(?:(?:\d+Y(?:\d+M(?:\d+D)?)?|\d+M(?:\d+D)?|\d+D)(?:T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))?|T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S)))$/.test(input);
  function bind(r) {
    return r.test.bind(r);
  }
  var format = {
    date,
    time: time.bind(void 0, true),
    "date-time": date_time,
    duration: DURATION,
    uri,
    "uri-reference": bind(URIREF),
    "uri-template": bind(URITEMPLATE),
    url: bind(URL_),
    email: EMAIL,
    hostname: bind(HOSTNAME),
    ipv4: bind(IPV4),
    ipv6: bind(IPV6),
    regex,
    uuid: bind(UUID),
    "json-pointer": bind(JSON_POINTER),
    "json-pointer-uri-fragment": bind(JSON_POINTER_URI_FRAGMENT),
    "relative-json-pointer": bind(RELATIVE_JSON_POINTER)
  };
  function isLeapYear(year) {
    return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  }
  function date(str) {
    const matches = str.match(DATE);
    if (!matches)
      return false;
    const yearPart = matches[1];
    const monthPart = matches[2];
    const dayPart = matches[3];
    if (!yearPart || !monthPart || !dayPart)
      return false;
    const year = +yearPart;
    const month = +monthPart;
    const day = +dayPart;
    const maxDay = month == 2 && isLeapYear(year) ? 29 : DAYS[month];
    return month >= 1 && month <= 12 && day >= 1 && maxDay !== void 0 && day <= maxDay;
  }
  function time(full, str) {
    const matches = str.match(TIME);
    if (!matches)
      return false;
    const hourPart = matches[1];
    const minutePart = matches[2];
    const secondPart = matches[3];
    if (!hourPart || !minutePart || !secondPart)
      return false;
    const hour = +hourPart;
    const minute = +minutePart;
    const second = +secondPart;
    const timeZone = matches[5];
    const offsetSign = matches[6];
    const offsetHour = +(matches[7] ?? 0);
    const offsetMinute = +(matches[8] ?? 0);
    if (hour > 23 || minute > 59 || second > 60 || offsetHour > 23 || offsetMinute > 59 || full && timeZone === void 0) {
      return false;
    }
    if (second < 60)
      return true;
    const offsetDirection = offsetSign === "+" ? 1 : offsetSign === "-" ? -1 : 0;
    const utcMinute = (hour * 60 + minute - offsetDirection * (offsetHour * 60 + offsetMinute) + 24 * 60) % (24 * 60);
    return utcMinute === 23 * 60 + 59;
  }
  var DATE_TIME_SEPARATOR = /t|\s/i;
  function date_time(str) {
    const [datePart, timePart, extra] = str.split(DATE_TIME_SEPARATOR);
    return datePart !== void 0 && timePart !== void 0 && extra === void 0 && date(datePart) && time(true, timePart);
  }
  var NOT_URI_FRAGMENT = /\/|:/;
  var URI_PATTERN = /^(?:[a-z][a-z0-9+\-.]*:)(?:\/?\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:]|%[0-9a-f]{2})*@)?(?:\[(?:(?:(?:(?:[0-9a-f]{1,4}:){6}|::(?:[0-9a-f]{1,4}:){5}|(?:[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){4}|(?:(?:[0-9a-f]{1,4}:){0,1}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){3}|(?:(?:[0-9a-f]{1,4}:){0,2}[0-9a-f]{1,4})?::(?:[0-9a-f]{1,4}:){2}|(?:(?:[0-9a-f]{1,4}:){0,3}[0-9a-f]{1,4})?::[0-9a-f]{1,4}:|(?:(?:[0-9a-f]{1,4}:){0,4}[0-9a-f]{1,4})?::)(?:[0-9a-f]{1,4}:[0-9a-f]{1,4}|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?))|(?:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4})?::[0-9a-f]{1,4}|(?:(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4})?::)|[Vv][0-9a-f]+\.[a-z0-9\-._~!$&'()*+,;=:]+)\]|(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)|(?:[a-z0-9\-._~!$&'()*+,;=]|%[0-9a-f]{2})*)(?::\d*)?(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*|\/(?:(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)?|(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})+(?:\/(?:[a-z0-9\-._~!$&'()*+,;=:@]|%[0-9a-f]{2})*)*)(?:\?(?:[a-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?(?:#(?:[a-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9a-f]{2})*)?$/i;
  function uri(str) {
    return NOT_URI_FRAGMENT.test(str) && URI_PATTERN.test(str);
  }
  var Z_ANCHOR = /[^\\]\\Z/;
  function regex(str) {
    if (Z_ANCHOR.test(str))
      return false;
    try {
      new RegExp(str, "u");
      return true;
    } catch (e) {
      return false;
    }
  }

  // node_modules/@cfworker/json-schema/dist/esm/ucs2-length.js
  function ucs2length(s) {
    let result = 0;
    let length = s.length;
    let index = 0;
    let charCode;
    while (index < length) {
      result++;
      charCode = s.charCodeAt(index++);
      if (charCode >= 55296 && charCode <= 56319 && index < length) {
        charCode = s.charCodeAt(index);
        if ((charCode & 64512) == 56320) {
          index++;
        }
      }
    }
    return result;
  }

  // node_modules/@cfworker/json-schema/dist/esm/validate.js
  function hasOwnProperty(instance, key) {
    return Object.prototype.hasOwnProperty.call(instance, key);
  }
  function decimalInteger(value) {
    const coefficientAndExponent = Math.abs(value).toString().split("e");
    const coefficient = coefficientAndExponent[0];
    const exponent = coefficientAndExponent[1] ?? "0";
    const point = coefficient.indexOf(".");
    const fractionLength = point === -1 ? 0 : coefficient.length - point - 1;
    return [
      BigInt(coefficient.replace(".", "")),
      Number(exponent) - fractionLength
    ];
  }
  function isMultipleOf(instance, divisor) {
    if (!Number.isFinite(instance) || !Number.isFinite(divisor) || divisor <= 0) {
      return false;
    }
    const [instanceCoefficient, instanceExponent] = decimalInteger(instance);
    const [divisorCoefficient, divisorExponent] = decimalInteger(divisor);
    const exponentDifference = instanceExponent - divisorExponent;
    if (exponentDifference >= 0) {
      return instanceCoefficient * 10n ** BigInt(exponentDifference) % divisorCoefficient === 0n;
    }
    return instanceCoefficient % (divisorCoefficient * 10n ** BigInt(-exponentDifference)) === 0n;
  }
  function validate(instance, schema, draft = "2019-09", lookup = dereference(schema), shortCircuit = true, recursiveAnchor = null, instanceLocation = "#", schemaLocation = "#", evaluated = /* @__PURE__ */ Object.create(null)) {
    if (schema === true) {
      return { valid: true, errors: [] };
    }
    if (schema === false) {
      return {
        valid: false,
        errors: [
          {
            instanceLocation,
            keyword: "false",
            keywordLocation: instanceLocation,
            error: "False boolean schema."
          }
        ]
      };
    }
    const rawInstanceType = typeof instance;
    let instanceType;
    switch (rawInstanceType) {
      case "boolean":
      case "number":
      case "string":
        instanceType = rawInstanceType;
        break;
      case "object":
        if (instance === null) {
          instanceType = "null";
        } else if (Array.isArray(instance)) {
          instanceType = "array";
        } else {
          instanceType = "object";
        }
        break;
      default:
        throw new Error(`Instances of "${rawInstanceType}" type are not supported.`);
    }
    const { $ref, $recursiveRef, $recursiveAnchor, type: $type, const: $const, enum: $enum, required: $required, not: $not, anyOf: $anyOf, allOf: $allOf, oneOf: $oneOf, if: $if, then: $then, else: $else, format: $format, properties: $properties, patternProperties: $patternProperties, additionalProperties: $additionalProperties, unevaluatedProperties: $unevaluatedProperties, minProperties: $minProperties, maxProperties: $maxProperties, propertyNames: $propertyNames, dependentRequired: $dependentRequired, dependentSchemas: $dependentSchemas, dependencies: $dependencies, prefixItems: $prefixItems, items: $items, additionalItems: $additionalItems, unevaluatedItems: $unevaluatedItems, contains: $contains, minContains: $minContains, maxContains: $maxContains, minItems: $minItems, maxItems: $maxItems, uniqueItems: $uniqueItems, minimum: $minimum, maximum: $maximum, exclusiveMinimum: $exclusiveMinimum, exclusiveMaximum: $exclusiveMaximum, multipleOf: $multipleOf, minLength: $minLength, maxLength: $maxLength, pattern: $pattern, __absolute_ref__, __absolute_recursive_ref__ } = schema;
    const errors = [];
    if ($recursiveAnchor === true && recursiveAnchor === null) {
      recursiveAnchor = schema;
    }
    if ($recursiveRef === "#") {
      const refSchema = recursiveAnchor === null ? lookup[__absolute_recursive_ref__] : recursiveAnchor;
      const keywordLocation = `${schemaLocation}/$recursiveRef`;
      const result = validate(instance, recursiveAnchor === null ? schema : recursiveAnchor, draft, lookup, shortCircuit, refSchema, instanceLocation, keywordLocation, evaluated);
      if (!result.valid) {
        errors.push({
          instanceLocation,
          keyword: "$recursiveRef",
          keywordLocation,
          error: "A subschema had errors."
        }, ...result.errors);
      }
    }
    if ($ref !== void 0) {
      const uri2 = __absolute_ref__ || $ref;
      const refSchema = lookup[uri2];
      if (refSchema === void 0) {
        let message = `Unresolved $ref "${$ref}".`;
        if (__absolute_ref__ && __absolute_ref__ !== $ref) {
          message += `  Absolute URI "${__absolute_ref__}".`;
        }
        message += `
Known schemas:
- ${Object.keys(lookup).join("\n- ")}`;
        throw new Error(message);
      }
      const keywordLocation = `${schemaLocation}/$ref`;
      const result = validate(instance, refSchema, draft, lookup, shortCircuit, recursiveAnchor, instanceLocation, keywordLocation, evaluated);
      if (!result.valid) {
        errors.push({
          instanceLocation,
          keyword: "$ref",
          keywordLocation,
          error: "A subschema had errors."
        }, ...result.errors);
      }
      if (draft === "4" || draft === "7") {
        return { valid: errors.length === 0, errors };
      }
    }
    if (Array.isArray($type)) {
      let length = $type.length;
      let valid = false;
      for (let i = 0; i < length; i++) {
        if (instanceType === $type[i] || $type[i] === "integer" && instanceType === "number" && instance % 1 === 0 && instance === instance) {
          valid = true;
          break;
        }
      }
      if (!valid) {
        errors.push({
          instanceLocation,
          keyword: "type",
          keywordLocation: `${schemaLocation}/type`,
          error: `Instance type "${instanceType}" is invalid. Expected "${$type.join('", "')}".`
        });
      }
    } else if ($type === "integer") {
      if (instanceType !== "number" || instance % 1 || instance !== instance) {
        errors.push({
          instanceLocation,
          keyword: "type",
          keywordLocation: `${schemaLocation}/type`,
          error: `Instance type "${instanceType}" is invalid. Expected "${$type}".`
        });
      }
    } else if ($type !== void 0 && instanceType !== $type) {
      errors.push({
        instanceLocation,
        keyword: "type",
        keywordLocation: `${schemaLocation}/type`,
        error: `Instance type "${instanceType}" is invalid. Expected "${$type}".`
      });
    }
    if ($const !== void 0) {
      if (instanceType === "object" || instanceType === "array") {
        if (!deepCompareStrict(instance, $const)) {
          errors.push({
            instanceLocation,
            keyword: "const",
            keywordLocation: `${schemaLocation}/const`,
            error: `Instance does not match ${JSON.stringify($const)}.`
          });
        }
      } else if (instance !== $const) {
        errors.push({
          instanceLocation,
          keyword: "const",
          keywordLocation: `${schemaLocation}/const`,
          error: `Instance does not match ${JSON.stringify($const)}.`
        });
      }
    }
    if ($enum !== void 0) {
      if (instanceType === "object" || instanceType === "array") {
        if (!$enum.some((value) => deepCompareStrict(instance, value))) {
          errors.push({
            instanceLocation,
            keyword: "enum",
            keywordLocation: `${schemaLocation}/enum`,
            error: `Instance does not match any of ${JSON.stringify($enum)}.`
          });
        }
      } else if (!$enum.some((value) => instance === value)) {
        errors.push({
          instanceLocation,
          keyword: "enum",
          keywordLocation: `${schemaLocation}/enum`,
          error: `Instance does not match any of ${JSON.stringify($enum)}.`
        });
      }
    }
    if ($not !== void 0) {
      const keywordLocation = `${schemaLocation}/not`;
      const result = validate(instance, $not, draft, lookup, shortCircuit, recursiveAnchor, instanceLocation, keywordLocation);
      if (result.valid) {
        errors.push({
          instanceLocation,
          keyword: "not",
          keywordLocation,
          error: 'Instance matched "not" schema.'
        });
      }
    }
    let subEvaluateds = [];
    if ($anyOf !== void 0) {
      const keywordLocation = `${schemaLocation}/anyOf`;
      const errorsLength = errors.length;
      let anyValid = false;
      for (const [i, subSchema] of $anyOf.entries()) {
        const subEvaluated = Object.create(evaluated);
        const result = validate(instance, subSchema, draft, lookup, shortCircuit, $recursiveAnchor === true ? recursiveAnchor : null, instanceLocation, `${keywordLocation}/${i}`, subEvaluated);
        errors.push(...result.errors);
        anyValid = anyValid || result.valid;
        if (result.valid) {
          subEvaluateds.push(subEvaluated);
        }
      }
      if (anyValid) {
        errors.length = errorsLength;
      } else {
        errors.splice(errorsLength, 0, {
          instanceLocation,
          keyword: "anyOf",
          keywordLocation,
          error: "Instance does not match any subschemas."
        });
      }
    }
    if ($allOf !== void 0) {
      const keywordLocation = `${schemaLocation}/allOf`;
      const errorsLength = errors.length;
      let allValid = true;
      for (const [i, subSchema] of $allOf.entries()) {
        const subEvaluated = Object.create(evaluated);
        const result = validate(instance, subSchema, draft, lookup, shortCircuit, $recursiveAnchor === true ? recursiveAnchor : null, instanceLocation, `${keywordLocation}/${i}`, subEvaluated);
        errors.push(...result.errors);
        allValid = allValid && result.valid;
        if (result.valid) {
          subEvaluateds.push(subEvaluated);
        }
      }
      if (allValid) {
        errors.length = errorsLength;
      } else {
        errors.splice(errorsLength, 0, {
          instanceLocation,
          keyword: "allOf",
          keywordLocation,
          error: `Instance does not match every subschema.`
        });
      }
    }
    if ($oneOf !== void 0) {
      const keywordLocation = `${schemaLocation}/oneOf`;
      const errorsLength = errors.length;
      const matches = $oneOf.filter((subSchema, i) => {
        const subEvaluated = Object.create(evaluated);
        const result = validate(instance, subSchema, draft, lookup, shortCircuit, $recursiveAnchor === true ? recursiveAnchor : null, instanceLocation, `${keywordLocation}/${i}`, subEvaluated);
        errors.push(...result.errors);
        if (result.valid) {
          subEvaluateds.push(subEvaluated);
        }
        return result.valid;
      }).length;
      if (matches === 1) {
        errors.length = errorsLength;
      } else {
        errors.splice(errorsLength, 0, {
          instanceLocation,
          keyword: "oneOf",
          keywordLocation,
          error: `Instance does not match exactly one subschema (${matches} matches).`
        });
      }
    }
    if (instanceType === "object" || instanceType === "array") {
      Object.assign(evaluated, ...subEvaluateds);
    }
    if ($if !== void 0) {
      const keywordLocation = `${schemaLocation}/if`;
      const ifEvaluated = /* @__PURE__ */ Object.create(null);
      const conditionResult = validate(instance, $if, draft, lookup, shortCircuit, recursiveAnchor, instanceLocation, keywordLocation, ifEvaluated).valid;
      if (conditionResult) {
        Object.assign(evaluated, ifEvaluated);
        if ($then !== void 0) {
          const thenResult = validate(instance, $then, draft, lookup, shortCircuit, recursiveAnchor, instanceLocation, `${schemaLocation}/then`, evaluated);
          if (!thenResult.valid) {
            errors.push({
              instanceLocation,
              keyword: "if",
              keywordLocation,
              error: `Instance does not match "then" schema.`
            }, ...thenResult.errors);
          }
        }
      } else if ($else !== void 0) {
        const elseResult = validate(instance, $else, draft, lookup, shortCircuit, recursiveAnchor, instanceLocation, `${schemaLocation}/else`, evaluated);
        if (!elseResult.valid) {
          errors.push({
            instanceLocation,
            keyword: "if",
            keywordLocation,
            error: `Instance does not match "else" schema.`
          }, ...elseResult.errors);
        }
      }
    }
    if (instanceType === "object") {
      if ($required !== void 0) {
        for (const key of $required) {
          if (!hasOwnProperty(instance, key)) {
            errors.push({
              instanceLocation,
              keyword: "required",
              keywordLocation: `${schemaLocation}/required`,
              error: `Instance does not have required property "${key}".`
            });
          }
        }
      }
      const keys = Object.keys(instance);
      if ($minProperties !== void 0 && keys.length < $minProperties) {
        errors.push({
          instanceLocation,
          keyword: "minProperties",
          keywordLocation: `${schemaLocation}/minProperties`,
          error: `Instance does not have at least ${$minProperties} properties.`
        });
      }
      if ($maxProperties !== void 0 && keys.length > $maxProperties) {
        errors.push({
          instanceLocation,
          keyword: "maxProperties",
          keywordLocation: `${schemaLocation}/maxProperties`,
          error: `Instance does not have at least ${$maxProperties} properties.`
        });
      }
      if ($propertyNames !== void 0) {
        const keywordLocation = `${schemaLocation}/propertyNames`;
        for (const key in instance) {
          const subInstancePointer = `${instanceLocation}/${encodePointer(key)}`;
          const result = validate(key, $propertyNames, draft, lookup, shortCircuit, recursiveAnchor, subInstancePointer, keywordLocation);
          if (!result.valid) {
            errors.push({
              instanceLocation,
              keyword: "propertyNames",
              keywordLocation,
              error: `Property name "${key}" does not match schema.`
            }, ...result.errors);
          }
        }
      }
      if ($dependentRequired !== void 0) {
        const keywordLocation = `${schemaLocation}/dependantRequired`;
        for (const key in $dependentRequired) {
          if (hasOwnProperty(instance, key)) {
            const required = $dependentRequired[key];
            for (const dependantKey of required) {
              if (!hasOwnProperty(instance, dependantKey)) {
                errors.push({
                  instanceLocation,
                  keyword: "dependentRequired",
                  keywordLocation,
                  error: `Instance has "${key}" but does not have "${dependantKey}".`
                });
              }
            }
          }
        }
      }
      if ($dependentSchemas !== void 0) {
        for (const [key, dependentSchema] of Object.entries($dependentSchemas)) {
          const keywordLocation = `${schemaLocation}/dependentSchemas`;
          if (hasOwnProperty(instance, key)) {
            const result = validate(instance, dependentSchema, draft, lookup, shortCircuit, recursiveAnchor, instanceLocation, `${keywordLocation}/${encodePointer(key)}`, evaluated);
            if (!result.valid) {
              errors.push({
                instanceLocation,
                keyword: "dependentSchemas",
                keywordLocation,
                error: `Instance has "${key}" but does not match dependant schema.`
              }, ...result.errors);
            }
          }
        }
      }
      if ($dependencies !== void 0) {
        const keywordLocation = `${schemaLocation}/dependencies`;
        for (const key in $dependencies) {
          if (hasOwnProperty(instance, key)) {
            const propsOrSchema = $dependencies[key];
            if (Array.isArray(propsOrSchema)) {
              for (const dependantKey of propsOrSchema) {
                if (!hasOwnProperty(instance, dependantKey)) {
                  errors.push({
                    instanceLocation,
                    keyword: "dependencies",
                    keywordLocation,
                    error: `Instance has "${key}" but does not have "${dependantKey}".`
                  });
                }
              }
            } else {
              const result = validate(instance, propsOrSchema, draft, lookup, shortCircuit, recursiveAnchor, instanceLocation, `${keywordLocation}/${encodePointer(key)}`);
              if (!result.valid) {
                errors.push({
                  instanceLocation,
                  keyword: "dependencies",
                  keywordLocation,
                  error: `Instance has "${key}" but does not match dependant schema.`
                }, ...result.errors);
              }
            }
          }
        }
      }
      const thisEvaluated = /* @__PURE__ */ Object.create(null);
      let stop = false;
      if ($properties !== void 0) {
        const keywordLocation = `${schemaLocation}/properties`;
        for (const [key, propertySchema] of Object.entries($properties)) {
          if (!hasOwnProperty(instance, key)) {
            continue;
          }
          const subInstancePointer = `${instanceLocation}/${encodePointer(key)}`;
          const result = validate(instance[key], propertySchema, draft, lookup, shortCircuit, recursiveAnchor, subInstancePointer, `${keywordLocation}/${encodePointer(key)}`);
          thisEvaluated[key] = true;
          if (result.valid) {
            evaluated[key] = true;
          } else {
            stop = shortCircuit;
            errors.push({
              instanceLocation,
              keyword: "properties",
              keywordLocation,
              error: `Property "${key}" does not match schema.`
            }, ...result.errors);
            if (stop)
              break;
          }
        }
      }
      if (!stop && $patternProperties !== void 0) {
        const keywordLocation = `${schemaLocation}/patternProperties`;
        for (const [pattern, subSchema] of Object.entries($patternProperties)) {
          const regex2 = new RegExp(pattern, "u");
          for (const key in instance) {
            if (!regex2.test(key)) {
              continue;
            }
            const subInstancePointer = `${instanceLocation}/${encodePointer(key)}`;
            const result = validate(instance[key], subSchema, draft, lookup, shortCircuit, recursiveAnchor, subInstancePointer, `${keywordLocation}/${encodePointer(pattern)}`);
            thisEvaluated[key] = true;
            if (result.valid) {
              evaluated[key] = true;
            } else {
              stop = shortCircuit;
              errors.push({
                instanceLocation,
                keyword: "patternProperties",
                keywordLocation,
                error: `Property "${key}" matches pattern "${pattern}" but does not match associated schema.`
              }, ...result.errors);
            }
          }
        }
      }
      if (!stop && $additionalProperties !== void 0) {
        const keywordLocation = `${schemaLocation}/additionalProperties`;
        for (const key in instance) {
          if (thisEvaluated[key]) {
            continue;
          }
          const subInstancePointer = `${instanceLocation}/${encodePointer(key)}`;
          const result = validate(instance[key], $additionalProperties, draft, lookup, shortCircuit, recursiveAnchor, subInstancePointer, keywordLocation);
          if (result.valid) {
            evaluated[key] = true;
          } else {
            stop = shortCircuit;
            errors.push({
              instanceLocation,
              keyword: "additionalProperties",
              keywordLocation,
              error: `Property "${key}" does not match additional properties schema.`
            }, ...result.errors);
          }
        }
      } else if (!stop && $unevaluatedProperties !== void 0) {
        const keywordLocation = `${schemaLocation}/unevaluatedProperties`;
        for (const key in instance) {
          if (!evaluated[key]) {
            const subInstancePointer = `${instanceLocation}/${encodePointer(key)}`;
            const result = validate(instance[key], $unevaluatedProperties, draft, lookup, shortCircuit, recursiveAnchor, subInstancePointer, keywordLocation);
            if (result.valid) {
              evaluated[key] = true;
            } else {
              errors.push({
                instanceLocation,
                keyword: "unevaluatedProperties",
                keywordLocation,
                error: `Property "${key}" does not match unevaluated properties schema.`
              }, ...result.errors);
            }
          }
        }
      }
    } else if (instanceType === "array") {
      if ($maxItems !== void 0 && instance.length > $maxItems) {
        errors.push({
          instanceLocation,
          keyword: "maxItems",
          keywordLocation: `${schemaLocation}/maxItems`,
          error: `Array has too many items (${instance.length} > ${$maxItems}).`
        });
      }
      if ($minItems !== void 0 && instance.length < $minItems) {
        errors.push({
          instanceLocation,
          keyword: "minItems",
          keywordLocation: `${schemaLocation}/minItems`,
          error: `Array has too few items (${instance.length} < ${$minItems}).`
        });
      }
      const length = instance.length;
      let i = 0;
      let stop = false;
      if ($prefixItems !== void 0) {
        const keywordLocation = `${schemaLocation}/prefixItems`;
        const length2 = Math.min($prefixItems.length, length);
        for (; i < length2; i++) {
          const result = validate(instance[i], $prefixItems[i], draft, lookup, shortCircuit, recursiveAnchor, `${instanceLocation}/${i}`, `${keywordLocation}/${i}`);
          evaluated[i] = true;
          if (!result.valid) {
            stop = shortCircuit;
            errors.push({
              instanceLocation,
              keyword: "prefixItems",
              keywordLocation,
              error: `Items did not match schema.`
            }, ...result.errors);
            if (stop)
              break;
          }
        }
      }
      if ($items !== void 0) {
        const keywordLocation = `${schemaLocation}/items`;
        if (Array.isArray($items)) {
          const length2 = Math.min($items.length, length);
          for (; i < length2; i++) {
            const result = validate(instance[i], $items[i], draft, lookup, shortCircuit, recursiveAnchor, `${instanceLocation}/${i}`, `${keywordLocation}/${i}`);
            evaluated[i] = true;
            if (!result.valid) {
              stop = shortCircuit;
              errors.push({
                instanceLocation,
                keyword: "items",
                keywordLocation,
                error: `Items did not match schema.`
              }, ...result.errors);
              if (stop)
                break;
            }
          }
        } else {
          for (; i < length; i++) {
            const result = validate(instance[i], $items, draft, lookup, shortCircuit, recursiveAnchor, `${instanceLocation}/${i}`, keywordLocation);
            evaluated[i] = true;
            if (!result.valid) {
              stop = shortCircuit;
              errors.push({
                instanceLocation,
                keyword: "items",
                keywordLocation,
                error: `Items did not match schema.`
              }, ...result.errors);
              if (stop)
                break;
            }
          }
        }
        if (!stop && $additionalItems !== void 0) {
          const keywordLocation2 = `${schemaLocation}/additionalItems`;
          for (; i < length; i++) {
            const result = validate(instance[i], $additionalItems, draft, lookup, shortCircuit, recursiveAnchor, `${instanceLocation}/${i}`, keywordLocation2);
            evaluated[i] = true;
            if (!result.valid) {
              stop = shortCircuit;
              errors.push({
                instanceLocation,
                keyword: "additionalItems",
                keywordLocation: keywordLocation2,
                error: `Items did not match additional items schema.`
              }, ...result.errors);
            }
          }
        }
      }
      if ($contains !== void 0) {
        if (length === 0 && $minContains === void 0) {
          errors.push({
            instanceLocation,
            keyword: "contains",
            keywordLocation: `${schemaLocation}/contains`,
            error: `Array is empty. It must contain at least one item matching the schema.`
          });
        } else if ($minContains !== void 0 && length < $minContains) {
          errors.push({
            instanceLocation,
            keyword: "minContains",
            keywordLocation: `${schemaLocation}/minContains`,
            error: `Array has less items (${length}) than minContains (${$minContains}).`
          });
        } else {
          const keywordLocation = `${schemaLocation}/contains`;
          const errorsLength = errors.length;
          let contained = 0;
          for (let j = 0; j < length; j++) {
            const result = validate(instance[j], $contains, draft, lookup, shortCircuit, recursiveAnchor, `${instanceLocation}/${j}`, keywordLocation);
            if (result.valid) {
              evaluated[j] = true;
              contained++;
            } else {
              errors.push(...result.errors);
            }
          }
          if (contained >= ($minContains || 0)) {
            errors.length = errorsLength;
          }
          if ($minContains === void 0 && contained === 0) {
            errors.splice(errorsLength, 0, {
              instanceLocation,
              keyword: "contains",
              keywordLocation,
              error: `Array does not contain item matching schema.`
            });
          } else if ($minContains !== void 0 && contained < $minContains) {
            errors.push({
              instanceLocation,
              keyword: "minContains",
              keywordLocation: `${schemaLocation}/minContains`,
              error: `Array must contain at least ${$minContains} items matching schema. Only ${contained} items were found.`
            });
          } else if ($maxContains !== void 0 && contained > $maxContains) {
            errors.push({
              instanceLocation,
              keyword: "maxContains",
              keywordLocation: `${schemaLocation}/maxContains`,
              error: `Array may contain at most ${$maxContains} items matching schema. ${contained} items were found.`
            });
          }
        }
      }
      if (!stop && $unevaluatedItems !== void 0) {
        const keywordLocation = `${schemaLocation}/unevaluatedItems`;
        for (i; i < length; i++) {
          if (evaluated[i]) {
            continue;
          }
          const result = validate(instance[i], $unevaluatedItems, draft, lookup, shortCircuit, recursiveAnchor, `${instanceLocation}/${i}`, keywordLocation);
          evaluated[i] = true;
          if (!result.valid) {
            errors.push({
              instanceLocation,
              keyword: "unevaluatedItems",
              keywordLocation,
              error: `Items did not match unevaluated items schema.`
            }, ...result.errors);
          }
        }
      }
      if ($uniqueItems) {
        for (let j = 0; j < length; j++) {
          const a = instance[j];
          const ao = typeof a === "object" && a !== null;
          for (let k = 0; k < length; k++) {
            if (j === k) {
              continue;
            }
            const b = instance[k];
            const bo = typeof b === "object" && b !== null;
            if (a === b || ao && bo && deepCompareStrict(a, b)) {
              errors.push({
                instanceLocation,
                keyword: "uniqueItems",
                keywordLocation: `${schemaLocation}/uniqueItems`,
                error: `Duplicate items at indexes ${j} and ${k}.`
              });
              j = Number.MAX_SAFE_INTEGER;
              k = Number.MAX_SAFE_INTEGER;
            }
          }
        }
      }
    } else if (instanceType === "number") {
      if (draft === "4") {
        if ($minimum !== void 0 && ($exclusiveMinimum === true && instance <= $minimum || instance < $minimum)) {
          errors.push({
            instanceLocation,
            keyword: "minimum",
            keywordLocation: `${schemaLocation}/minimum`,
            error: `${instance} is less than ${$exclusiveMinimum ? "or equal to " : ""} ${$minimum}.`
          });
        }
        if ($maximum !== void 0 && ($exclusiveMaximum === true && instance >= $maximum || instance > $maximum)) {
          errors.push({
            instanceLocation,
            keyword: "maximum",
            keywordLocation: `${schemaLocation}/maximum`,
            error: `${instance} is greater than ${$exclusiveMaximum ? "or equal to " : ""} ${$maximum}.`
          });
        }
      } else {
        if ($minimum !== void 0 && instance < $minimum) {
          errors.push({
            instanceLocation,
            keyword: "minimum",
            keywordLocation: `${schemaLocation}/minimum`,
            error: `${instance} is less than ${$minimum}.`
          });
        }
        if ($maximum !== void 0 && instance > $maximum) {
          errors.push({
            instanceLocation,
            keyword: "maximum",
            keywordLocation: `${schemaLocation}/maximum`,
            error: `${instance} is greater than ${$maximum}.`
          });
        }
        if ($exclusiveMinimum !== void 0 && instance <= $exclusiveMinimum) {
          errors.push({
            instanceLocation,
            keyword: "exclusiveMinimum",
            keywordLocation: `${schemaLocation}/exclusiveMinimum`,
            error: `${instance} is less than ${$exclusiveMinimum}.`
          });
        }
        if ($exclusiveMaximum !== void 0 && instance >= $exclusiveMaximum) {
          errors.push({
            instanceLocation,
            keyword: "exclusiveMaximum",
            keywordLocation: `${schemaLocation}/exclusiveMaximum`,
            error: `${instance} is greater than or equal to ${$exclusiveMaximum}.`
          });
        }
      }
      if ($multipleOf !== void 0) {
        if (!isMultipleOf(instance, $multipleOf)) {
          errors.push({
            instanceLocation,
            keyword: "multipleOf",
            keywordLocation: `${schemaLocation}/multipleOf`,
            error: `${instance} is not a multiple of ${$multipleOf}.`
          });
        }
      }
    } else if (instanceType === "string") {
      const length = $minLength === void 0 && $maxLength === void 0 ? 0 : ucs2length(instance);
      if ($minLength !== void 0 && length < $minLength) {
        errors.push({
          instanceLocation,
          keyword: "minLength",
          keywordLocation: `${schemaLocation}/minLength`,
          error: `String is too short (${length} < ${$minLength}).`
        });
      }
      if ($maxLength !== void 0 && length > $maxLength) {
        errors.push({
          instanceLocation,
          keyword: "maxLength",
          keywordLocation: `${schemaLocation}/maxLength`,
          error: `String is too long (${length} > ${$maxLength}).`
        });
      }
      if ($pattern !== void 0 && !new RegExp($pattern, "u").test(instance)) {
        errors.push({
          instanceLocation,
          keyword: "pattern",
          keywordLocation: `${schemaLocation}/pattern`,
          error: `String does not match pattern.`
        });
      }
      if ($format !== void 0 && format[$format] && !format[$format](instance)) {
        errors.push({
          instanceLocation,
          keyword: "format",
          keywordLocation: `${schemaLocation}/format`,
          error: `String does not match format "${$format}".`
        });
      }
    }
    return { valid: errors.length === 0, errors };
  }

  // node_modules/@cfworker/json-schema/dist/esm/validator.js
  var Validator = class {
    constructor(schema, draft = "2019-09", shortCircuit = true) {
      __publicField(this, "schema");
      __publicField(this, "draft");
      __publicField(this, "shortCircuit");
      __publicField(this, "lookup");
      this.schema = schema;
      this.draft = draft;
      this.shortCircuit = shortCircuit;
      this.lookup = dereference(schema);
    }
    validate(instance) {
      return validate(instance, this.schema, this.draft, this.lookup, this.shortCircuit);
    }
    addSchema(schema, id) {
      if (id) {
        schema = { ...schema, $id: id };
      }
      dereference(schema, this.lookup);
    }
  };

  // src/frame-crypto.js
  var VERSION = 1;
  var TO_CORE = 1;
  var TO_FRAME = 2;
  var HEADER_SIZE = 26;
  var TAG_SIZE = 16;
  var INFO_TO_CORE = "isogate v1 key to-core";
  var INFO_TO_FRAME = "isogate v1 key to-frame";
  var INFO_AUTH = "isogate v1 transport-auth";
  var utf8 = new TextEncoder();
  var OpenError = class extends Error {
    constructor() {
      super("cannot open frame");
      this.name = "OpenError";
    }
  };
  async function deriveKeys(secret, sessionID, subtle = globalThis.crypto.subtle) {
    const base = await subtle.importKey("raw", secret, "HKDF", false, ["deriveKey", "deriveBits"]);
    const params = (info) => ({ name: "HKDF", hash: "SHA-256", salt: sessionID, info: utf8.encode(info) });
    const aes = { name: "AES-GCM", length: 256 };
    const toCore = await subtle.deriveKey(params(INFO_TO_CORE), base, aes, false, ["encrypt"]);
    const toFrame = await subtle.deriveKey(params(INFO_TO_FRAME), base, aes, false, ["decrypt"]);
    const auth = new Uint8Array(await subtle.deriveBits(params(INFO_AUTH), base, 256));
    return { toCore, toFrame, auth };
  }
  function header(direction, sessionID, seq) {
    const h = new Uint8Array(HEADER_SIZE);
    h[0] = VERSION;
    h[1] = direction;
    h.set(sessionID, 2);
    new DataView(h.buffer).setBigUint64(18, BigInt(seq));
    return h;
  }
  function nonceOf(h) {
    const n = new Uint8Array(12);
    n.set(h.subarray(18, 26), 4);
    return n;
  }
  async function seal(key, direction, sessionID, seq, plaintext, subtle = globalThis.crypto.subtle) {
    if (!Number.isSafeInteger(seq) || seq < 1) throw new Error("sequence numbers exhausted");
    const h = header(direction, sessionID, seq);
    const ct = await subtle.encrypt({ name: "AES-GCM", iv: nonceOf(h), additionalData: h, tagLength: 128 }, key, plaintext);
    const out = new Uint8Array(HEADER_SIZE + ct.byteLength);
    out.set(h, 0);
    out.set(new Uint8Array(ct), HEADER_SIZE);
    return out;
  }
  async function open(key, direction, sessionID, frame, subtle = globalThis.crypto.subtle) {
    const f = new Uint8Array(frame);
    if (f.length < HEADER_SIZE + TAG_SIZE || f[0] !== VERSION || f[1] !== direction) throw new OpenError();
    for (let i = 0; i < sessionID.length; i++) if (f[2 + i] !== sessionID[i]) throw new OpenError();
    const h = f.subarray(0, HEADER_SIZE);
    const seq = new DataView(f.buffer, f.byteOffset).getBigUint64(18);
    if (seq === 0n || seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new OpenError();
    let pt;
    try {
      pt = await subtle.decrypt({ name: "AES-GCM", iv: nonceOf(h), additionalData: h, tagLength: 128 }, key, f.subarray(HEADER_SIZE));
    } catch {
      throw new OpenError();
    }
    return { seq: Number(seq), plaintext: new Uint8Array(pt) };
  }
  function fromHex(s) {
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    return out;
  }
  function toBase64URL(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromBase64URL(s) {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // src/binary.js
  var BINARY_FORM = 1;
  function isBinary(v) {
    return v instanceof Uint8Array || v instanceof ArrayBuffer;
  }
  var escape = (k) => String(k).replace(/~/g, "~0").replace(/\//g, "~1");
  function split(value) {
    const bin = [];
    const blobs = [];
    let bytes = 0;
    function walk(v, path) {
      if (isBinary(v)) {
        const b = v instanceof ArrayBuffer ? new Uint8Array(v) : v;
        bin.push({ path, len: b.byteLength });
        blobs.push(b);
        bytes += b.byteLength;
        return [null, { $binary: b.byteLength }];
      }
      if (Array.isArray(v)) {
        const j = [], w = [];
        v.forEach((x, i) => {
          const [a, b] = walk(x, `${path}/${i}`);
          j.push(a);
          w.push(b);
        });
        return [j, w];
      }
      if (v !== null && typeof v === "object") {
        const j = {}, w = {};
        for (const k of Object.keys(v)) {
          const [a, b] = walk(v[k], `${path}/${escape(k)}`);
          j[k] = a;
          w[k] = b;
        }
        return [j, w];
      }
      return [v, v];
    }
    const [json, view] = walk(value, "");
    return { json, view, bin, blobs, bytes };
  }
  function encode(message, bin, blobs) {
    const json = new TextEncoder().encode(JSON.stringify(bin.length ? { ...message, bin } : message));
    if (bin.length === 0) return { plaintext: json, jsonBytes: json.length };
    let total = 5 + json.length;
    for (const b of blobs) total += b.byteLength;
    const out = new Uint8Array(total);
    out[0] = BINARY_FORM;
    new DataView(out.buffer).setUint32(1, json.length);
    out.set(json, 5);
    let at = 5 + json.length;
    for (const b of blobs) {
      out.set(b, at);
      at += b.byteLength;
    }
    return { plaintext: out, jsonBytes: json.length };
  }
  function unescape(t) {
    return t.replace(/~1/g, "/").replace(/~0/g, "~");
  }
  function parsePointer(path) {
    if (path === "") return [];
    if (path[0] !== "/") throw new Error("bad pointer");
    return path.split("/").slice(1).map(unescape);
  }
  function holderOf(root, toks) {
    let cur = root;
    for (const t of toks.slice(0, -1)) cur = cur !== null && typeof cur === "object" && Object.hasOwn(cur, t) ? cur[t] : void 0;
    const last = toks[toks.length - 1];
    return cur !== null && typeof cur === "object" && Object.hasOwn(cur, last) && cur[last] === null ? cur : void 0;
  }
  function setOwn(o, k, v) {
    Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  }
  function decode(plaintext, blobs = []) {
    const utf82 = new TextDecoder("utf-8", { fatal: true });
    if (plaintext[0] !== BINARY_FORM) return JSON.parse(utf82.decode(plaintext));
    if (plaintext.length < 5) throw new Error("short binary message");
    const n = new DataView(plaintext.buffer, plaintext.byteOffset).getUint32(1);
    if (5 + n > plaintext.length) throw new Error("bad JSON length");
    const m = JSON.parse(utf82.decode(plaintext.subarray(5, 5 + n)));
    if (!Array.isArray(m.bin)) throw new Error("binary message without a table");
    const field = { event: "payload", data: "payload", channel: "message", reply: "result", invoke: "args" }[m.type];
    if (field === void 0) throw new Error("unknown message type");
    let at = 5 + n;
    for (const { path, len } of m.bin) {
      if (typeof path !== "string" || !Number.isSafeInteger(len) || len < 0 || at + len > plaintext.length) throw new Error("bad table");
      const blob = plaintext.slice(at, at + len);
      at += len;
      blobs.push(blob.buffer);
      const toks = parsePointer(path);
      if (toks.length === 0) {
        m[field] = blob;
        continue;
      }
      const holder = holderOf(m[field], toks);
      if (holder === void 0) throw new Error("table points nowhere");
      setOwn(holder, toks[toks.length - 1], blob);
    }
    if (at !== plaintext.length) throw new Error("trailing bytes");
    delete m.bin;
    return m;
  }

  // src/shape.js
  function contract(limits) {
    if (!isPlainObject(limits)) throw new Error("frame config: no limits");
    const positive = (k) => {
      const v = limits[k];
      if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`frame config: limits.${k} must be a positive integer`);
      return v;
    };
    if (typeof limits.namePattern !== "string") throw new Error("frame config: limits.namePattern must be a string");
    if (!Array.isArray(limits.kinds) || limits.kinds.some((k) => typeof k !== "string")) throw new Error("frame config: limits.kinds must be a list of strings");
    return Object.freeze({
      maxMessageBytes: positive("maxMessageBytes"),
      maxBinaryBytes: positive("maxBinaryBytes"),
      maxDepth: positive("maxDepth"),
      maxBatchMessages: positive("maxBatchMessages"),
      name: new RegExp(limits.namePattern),
      kinds: new Set(limits.kinds)
    });
  }
  function isPlainObject(v) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
    const proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
  }
  function wellFormed(s) {
    return !/\p{Cs}/u.test(s);
  }
  function isJSONValue(v, maxDepth) {
    return jsonProblem(v, maxDepth, 0) === null;
  }
  function jsonProblem(v, maxDepth, depth) {
    if (v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype) return null;
    if (v instanceof ArrayBuffer && Object.getPrototypeOf(v) === ArrayBuffer.prototype) return null;
    switch (typeof v) {
      case "string":
        return wellFormed(v) ? null : "type";
      case "boolean":
        return null;
      case "number":
        return Number.isFinite(v) ? null : "type";
      case "object": {
        if (v === null) return null;
        if (depth >= maxDepth) return "deep";
        let found = null;
        const each = (x) => (found = jsonProblem(x, maxDepth, depth + 1)) === null;
        if (Array.isArray(v)) {
          if (Object.getPrototypeOf(v) !== Array.prototype) return "type";
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) return "type";
            if (!each(v[i])) return found;
          }
          return null;
        }
        if (!isPlainObject(v)) return "type";
        for (const k of Object.keys(v)) {
          if (!wellFormed(k)) return "type";
          if (!each(v[k])) return found;
        }
        return Object.getOwnPropertySymbols(v).length === 0 ? null : "type";
      }
      default:
        return "type";
    }
  }
  function httpShape(args) {
    const members = isPlainObject(args) ? Object.keys(args).length : 0;
    if (!(members === 4 || members === 5 && args.credentials === "omit")) return `an http request's args are exactly path, query, headers and body, and credentials "omit" or nothing`;
    if (typeof args.path !== "string" || typeof args.query !== "string" || !isPlainObject(args.headers)) return "an http request's path and query are strings, its headers an object";
    if (Object.values(args.headers).some((v) => typeof v !== "string")) return "an http request's header values are strings";
    const b = args.body;
    if (!("body" in args) || !(b === null || b instanceof Uint8Array || b instanceof ArrayBuffer)) return "an http request's body is raw bytes or null";
    return "";
  }
  function isCallID(id) {
    return Number.isSafeInteger(id) && id > 0;
  }
  function parseRequest(data, c) {
    if (!isPlainObject(data)) return { ok: false, reason: "not a plain object" };
    const id = isCallID(data.id) ? data.id : void 0;
    const bad = (reason) => ({ ok: false, id, reason });
    if (data.type !== "invoke") return { ok: false, reason: "unknown type" };
    if (id === void 0) return bad("id must be a positive integer");
    for (const k of Object.keys(data)) {
      if (!["type", "id", "kind", "name", "args", "tauri"].includes(k)) return bad(`unexpected field ${k}`);
    }
    if (!c.kinds.has(data.kind)) return bad("unknown kind");
    if (typeof data.name !== "string" || !c.name.test(data.name)) return bad("malformed name");
    const args = data.args === void 0 ? null : data.args;
    switch (jsonProblem(args, c.maxDepth, 0)) {
      case "deep":
        return bad(`args are nested more than ${c.maxDepth} deep`);
      case "type":
        return bad("args must be plain JSON");
    }
    if (data.kind === "listen" && args !== null) return bad("a listen request carries no args");
    if (data.kind === "http") {
      if ("tauri" in data) return bad("an http request has no tauri member");
      const why = httpShape(args);
      if (why) return bad(why);
    }
    const req = { type: "invoke", id, kind: data.kind, name: data.name, args };
    if ("tauri" in data) {
      const why = tauriShape(req, data.tauri, c);
      if (why) return bad(why);
      req.tauri = data.tauri;
    }
    return { ok: true, req };
  }
  var MAX_TAURI_HEADERS = 32;
  var MAX_TAURI_HEADER_BYTES = 8 << 10;
  var MAX_TAURI_CHANNELS = 16;
  var TAURI_TARGETS = { Any: false, App: false, AnyLabel: true, Window: true, Webview: true, WebviewWindow: true };
  var CHANNEL = /^__CHANNEL__:([0-9]{1,10})$/;
  function channelAt(args, ptr) {
    let toks;
    try {
      toks = parsePointer(ptr);
    } catch {
      return null;
    }
    if (toks.length === 0) return null;
    let cur = args;
    for (const t of toks.slice(0, -1)) cur = cur !== null && typeof cur === "object" && Object.hasOwn(cur, t) ? cur[t] : void 0;
    const last = toks[toks.length - 1];
    const v = cur !== null && typeof cur === "object" && Object.hasOwn(cur, last) ? cur[last] : void 0;
    const m = typeof v === "string" ? CHANNEL.exec(v) : null;
    return m && Number(m[1]) <= 4294967295 ? Number(m[1]) : null;
  }
  function tauriShape(req, t, c) {
    if (!isPlainObject(t) || Object.keys(t).length !== 5) return "tauri is exactly cmd, headers, raw, channels and target";
    const { cmd, headers, raw, channels, target } = t;
    if (typeof cmd !== "string" || !c.name.test(cmd) || typeof raw !== "boolean" || !isPlainObject(headers) || !Array.isArray(channels)) {
      return "tauri.cmd is a name, raw a boolean, headers an object, channels an array";
    }
    let size = 0;
    for (const [k, v] of Object.entries(headers)) {
      if (!/^[a-z0-9-]{1,64}$/.test(k) || typeof v !== "string") return `tauri header "${k}": a lowercase name and a string`;
      size += k.length + new TextEncoder().encode(v).length;
    }
    if (Object.keys(headers).length > MAX_TAURI_HEADERS || size > MAX_TAURI_HEADER_BYTES) return `tauri headers: at most ${MAX_TAURI_HEADERS}, of ${MAX_TAURI_HEADER_BYTES} bytes`;
    if (channels.length > MAX_TAURI_CHANNELS) return `at most ${MAX_TAURI_CHANNELS} channels`;
    if (new Set(channels).size !== channels.length || channels.some((p) => typeof p !== "string" || p === "")) return "a tauri channel is a pointer into the args, each once";
    for (const p of channels) if (channelAt(req.args, p) === null) return `tauri channel "${p}" does not point at a channel`;
    if (target !== null && !isTarget(target)) return "tauri.target is {kind} or {kind, label} as Tauri writes it";
    const rootBlob = req.args instanceof Uint8Array || req.args instanceof ArrayBuffer;
    if (req.kind === "command" && !cmd.startsWith("plugin:") && !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(cmd)) return "a Tauri app command is named as a Rust function is";
    if (req.kind === "command" && (cmd !== req.name || cmd.startsWith("plugin:event|"))) return "tauri.cmd of a command is its name";
    if (req.kind === "listen" && cmd !== "plugin:event|listen") return "tauri.cmd of a listen is plugin:event|listen";
    if (req.kind === "event" && cmd !== "plugin:event|emit" && cmd !== "plugin:event|emit_to") return "tauri.cmd of an event is plugin:event|emit or emit_to";
    if (req.kind === "event" && cmd === "plugin:event|emit_to" !== (target !== null)) return "an emit_to has a target, an emit none";
    if (req.kind === "command" && target !== null) return "a command has no target";
    if (raw !== rootBlob) return "tauri.raw says whether the args are one raw body";
    if (req.kind !== "command" && channels.length > 0) return "only a command carries channels";
    return "";
  }
  function parseCoreMessage(m, c) {
    if (isPlainObject(m) && m.type === "event") {
      if (typeof m.name !== "string" || !c.name.test(m.name)) return null;
      if (m.payload !== void 0 && !isJSONValue(m.payload, c.maxDepth)) return null;
      const ev = { type: "event", name: m.name, payload: m.payload === void 0 ? null : m.payload };
      if (m.target !== void 0) {
        if (!isTarget(m.target)) return null;
        ev.target = m.target;
      }
      return ev;
    }
    if (isPlainObject(m) && m.type === "data") return parseData(m);
    if (isPlainObject(m) && m.type === "channel") return parseChannel(m, c);
    if (!isPlainObject(m) || m.type !== "reply" || !isCallID(m.id) || typeof m.ok !== "boolean") return null;
    if (m.ok) {
      const result = m.result === void 0 ? null : m.result;
      if (!isJSONValue(result, c.maxDepth)) return null;
      if (m.stream === void 0) return { type: "reply", id: m.id, ok: true, result };
      if (typeof m.stream !== "string") return null;
      let toks;
      try {
        toks = parsePointer(m.stream);
      } catch {
        return null;
      }
      if (toks.length === 0 ? result !== null : holderOf(result, toks) === void 0) return null;
      return { type: "reply", id: m.id, ok: true, result, stream: m.stream };
    }
    const e = parseError(m.error, c);
    return e === null ? null : { type: "reply", id: m.id, ok: false, error: e };
  }
  function parseError(e, c) {
    if (!isPlainObject(e) || typeof e.code !== "string" || typeof e.message !== "string") return null;
    for (const k of Object.keys(e)) if (!["code", "message", "value", "reasons"].includes(k)) return null;
    const out = { code: e.code, message: e.message };
    if (e.reasons !== void 0) {
      if (!Array.isArray(e.reasons) || !e.reasons.every((r) => typeof r === "string")) return null;
      out.reasons = e.reasons.slice();
    }
    if (e.value !== void 0) {
      if (c === void 0 || !isJSONValue(e.value, c.maxDepth)) return null;
      out.value = e.value;
    }
    return out;
  }
  function isTarget(t) {
    if (!isPlainObject(t) || !Object.hasOwn(TAURI_TARGETS, t.kind)) return false;
    const labelled = TAURI_TARGETS[t.kind];
    if (Object.keys(t).length !== (labelled ? 2 : 1)) return false;
    return !labelled || typeof t.label === "string" && t.label !== "" && new TextEncoder().encode(t.label).length <= 128;
  }
  function parseChannel(m, c) {
    for (const k of Object.keys(m)) if (!["type", "id", "index", "message", "end"].includes(k)) return null;
    if (!Number.isInteger(m.id) || m.id < 0 || m.id > 4294967295 || !Number.isSafeInteger(m.index) || m.index < 0) return null;
    if (m.end !== void 0) return m.end === true && m.message === void 0 ? { type: "channel", id: m.id, index: m.index, end: true } : null;
    const message = m.message === void 0 ? null : m.message;
    return isJSONValue(message, c.maxDepth) ? { type: "channel", id: m.id, index: m.index, message, end: false } : null;
  }
  function parseData(m) {
    if (!isCallID(m.id)) return null;
    for (const k of Object.keys(m)) if (!["type", "id", "payload", "end", "error"].includes(k)) return null;
    if (m.payload !== void 0 && !(m.payload instanceof Uint8Array)) return null;
    if (m.end !== void 0 && m.end !== true) return null;
    const out = { type: "data", id: m.id, payload: m.payload === void 0 ? null : m.payload, end: m.end === true };
    if (m.error !== void 0) {
      if (!out.end || (out.error = parseError(m.error)) === null) return null;
    }
    return out;
  }

  // src/batch.js
  function batcher(deliver) {
    let pending = null;
    let transfer = [];
    const open2 = () => {
      pending = [];
      queueMicrotask(() => {
        const messages = pending;
        const moved = transfer;
        pending = null;
        transfer = [];
        if (messages.length > 0) deliver(messages.length === 1 ? messages[0] : { type: "batch", messages }, moved);
      });
    };
    const send = (m, buffers) => {
      if (pending === null) open2();
      pending.push(m);
      if (buffers) transfer.push(...buffers);
    };
    send.idle = () => pending === null;
    send.now = (m) => {
      if (pending !== null) throw new Error("batcher: a batch is waiting; send.now would overtake it");
      deliver(m, []);
      open2();
    };
    return send;
  }
  function unbatch(data, each) {
    if (data !== null && typeof data === "object" && data.type === "batch" && Array.isArray(data.messages)) {
      for (const m of data.messages) each(m);
      return;
    }
    each(data);
  }
  var enc = new TextEncoder();
  var OPEN = enc.encode('{"type":"batch","messages":[');
  var CLOSE = enc.encode("]}");
  function frames(items, max, maxMessages) {
    const out = [];
    let group = [];
    let size = OPEN.length + CLOSE.length;
    const flush = () => {
      if (group.length) out.push(group);
      group = [];
      size = OPEN.length + CLOSE.length;
    };
    for (const it of items) {
      const alone = it.body[0] === 1 || it.body.length + OPEN.length + CLOSE.length > max;
      if (alone || size + it.body.length + 1 > max || group.length === maxMessages) flush();
      if (alone) {
        out.push([it]);
        continue;
      }
      group.push(it);
      size += it.body.length + 1;
    }
    flush();
    return out;
  }
  function joinBatch(bodies) {
    let n = OPEN.length + CLOSE.length + bodies.length - 1;
    for (const b of bodies) n += b.length;
    const out = new Uint8Array(n);
    out.set(OPEN, 0);
    let at = OPEN.length;
    bodies.forEach((b, i) => {
      if (i > 0) out[at++] = 44;
      out.set(b, at);
      at += b.length;
    });
    out.set(CLOSE, at);
    return out;
  }

  // src/openapi.js
  function compileOperations(spec) {
    if (!spec) return null;
    const v = (schema) => schema ? new Validator(schema, spec.draft, false) : null;
    return spec.operations.map((op) => ({
      method: op.method,
      path: op.path,
      pattern: new RegExp(op.pattern),
      names: (op.path.match(/\{[^/]+?\}/g) || []).map((p) => p.slice(1, -1)),
      params: (op.params || []).map((p) => ({ ...p, validator: v(p.schema) })),
      body: op.body ? { required: op.body.required, validator: v(op.body.schema) } : null
    }));
  }
  function coerce(text, schema) {
    const t = schema && (Array.isArray(schema.type) ? schema.type.find((x) => x !== "null") : schema.type);
    switch (t) {
      case "integer":
      case "number": {
        const n = Number(text);
        return text.trim() !== "" && Number.isFinite(n) ? n : text;
      }
      case "boolean":
        return text === "true" ? true : text === "false" ? false : text;
      default:
        return text;
    }
  }
  function decode2(s) {
    try {
      return decodeURIComponent(s);
    } catch {
      return null;
    }
  }
  function checkHTTP(ops, req) {
    if (ops === null) return null;
    const { path, query, headers, body } = req.args;
    let op = null;
    let m = null;
    for (const o of ops) {
      if (o.method !== req.name) continue;
      m = o.pattern.exec(path);
      if (m) {
        op = o;
        break;
      }
    }
    if (op === null) return { code: "unknown_command", reason: `no operation of the API's OpenAPI document is ${req.name} ${path}` };
    const pathValues = {};
    op.names.forEach((n, i) => {
      pathValues[n] = decode2(m[i + 1]);
    });
    const q = new URLSearchParams(query);
    for (const p of op.params) {
      let value;
      if (p.in === "path") value = pathValues[p.name];
      else if (p.in === "query") {
        const all = q.getAll(p.name);
        if (all.length === 0) value = void 0;
        else if (p.schema && p.schema.type === "array") value = all.map((x) => coerce(x, p.schema.items));
        else if (all.length > 1) return { code: "invalid_args", reason: `parameter "${p.name}" in query is given more than once` };
        else value = all[0];
      } else if (p.in === "header") value = headers[p.name.toLowerCase()];
      if (value === void 0 || value === null) {
        if (p.required) return { code: "invalid_args", reason: `parameter "${p.name}" in ${p.in} is required` };
        continue;
      }
      if (!Array.isArray(value)) value = coerce(value, p.schema);
      if (p.validator && !p.validator.validate(value).valid) return { code: "invalid_args", reason: `parameter "${p.name}" in ${p.in} does not fit its schema` };
    }
    const bytes = body instanceof ArrayBuffer ? new Uint8Array(body) : body;
    if (op.body) {
      if (!bytes || bytes.byteLength === 0) {
        if (op.body.required) return { code: "invalid_args", reason: "request body: the operation requires one" };
        return null;
      }
      const ct = (headers["content-type"] || "").split(";")[0].trim().toLowerCase();
      if (op.body.validator && (ct === "application/json" || ct.endsWith("+json"))) {
        let value;
        try {
          value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
        } catch {
          return { code: "invalid_args", reason: "request body: not the JSON its content-type says" };
        }
        if (!op.body.validator.validate(value).valid) return { code: "invalid_args", reason: "request body: does not fit its schema" };
      }
    }
    return null;
  }

  // src/isolation.js
  var HOOK_TIMEOUT_MS = 5e3;
  var BACKOFF = [100, 250, 500, 1e3, 2e3];
  function failure(id, code, message) {
    return { type: "reply", id, ok: false, error: { code, message } };
  }
  function checkRequest(data, c) {
    const parsed = parseRequest(data, c);
    if (!parsed.ok) return { ok: false, id: parsed.id, code: "invalid_args", reason: parsed.reason };
    const req = parsed.req;
    const parts = split(req.args);
    const { plaintext: body, jsonBytes } = encode({ ...req, args: parts.json }, parts.bin, parts.blobs);
    if (jsonBytes > c.maxMessageBytes || parts.bytes > c.maxBinaryBytes) {
      return {
        ok: false,
        id: req.id,
        code: "too_large",
        reason: `message is ${jsonBytes} bytes of JSON and ${parts.bytes} of binary; the limits are ${c.maxMessageBytes} and ${c.maxBinaryBytes}`
      };
    }
    return { ok: true, req, parts, body };
  }
  async function createIsolation({
    config,
    post,
    WebSocket,
    hook = null,
    subtle = globalThis.crypto.subtle,
    setTimeout = globalThis.setTimeout,
    clearTimeout = globalThis.clearTimeout
  }) {
    const c = contract(config.limits);
    const sessionID = fromHex(config.session);
    const secret = fromBase64URL(config.secret);
    const keys = await deriveKeys(secret, sessionID, subtle);
    secret.fill(0);
    const operations = compileOperations(config.http);
    const validators = /* @__PURE__ */ new Map();
    for (const [name, schema] of Object.entries(config.schemas || {})) {
      validators.set(name, new Validator(schema, "2020-12", false));
    }
    const inFlight = /* @__PURE__ */ new Set();
    const sealed = /* @__PURE__ */ new Set();
    const streaming = /* @__PURE__ */ new Set();
    const channels = /* @__PURE__ */ new Map();
    const callChannels = /* @__PURE__ */ new Map();
    const MAX_CHANNELS = 1024;
    const release = (ids) => {
      for (const ch of ids) {
        const n = channels.get(ch) - 1;
        if (n > 0) channels.set(ch, n);
        else channels.delete(ch);
      }
    };
    let ws = null;
    let open_ = false;
    let sendSeq = 0;
    let recvSeq = 0;
    let sending = Promise.resolve();
    let receiving = Promise.resolve();
    let attempt = 0;
    function connect() {
      const url = `${config.ws}?s=${config.session}&a=${toBase64URL(keys.auth)}`;
      const sock = new WebSocket(url);
      sock.binaryType = "arraybuffer";
      ws = sock;
      sock.onopen = () => {
        if (ws !== sock) return;
        open_ = true;
        attempt = 0;
        post({ type: "ready" });
      };
      sock.onmessage = (ev) => {
        const opened = opening(ev.data);
        opened.catch(() => {
        });
        receiving = receiving.then(() => ws === sock ? receive(opened) : void 0).catch(() => drop(sock));
      };
      sock.onclose = () => drop(sock);
    }
    function drop(sock) {
      if (ws !== sock) return;
      ws = null;
      open_ = false;
      sock.close();
      for (const id of inFlight) {
        const lost = { code: "unavailable", message: "connection to the core was lost" };
        post(streaming.has(id) ? { type: "data", id, payload: null, end: true, error: lost } : failure(id, lost.code, lost.message));
      }
      inFlight.clear();
      sealed.clear();
      streaming.clear();
      for (const id of channels.keys()) post({ type: "channel", id, lost: true });
      channels.clear();
      callChannels.clear();
      setTimeout(connect, BACKOFF[Math.min(attempt++, BACKOFF.length - 1)]);
    }
    async function opening(data) {
      if (!(data instanceof ArrayBuffer)) throw new Error("text frame");
      return open(keys.toFrame, TO_FRAME, sessionID, data, subtle);
    }
    async function receive(opened) {
      const { seq, plaintext } = await opened;
      if (seq <= recvSeq) throw new Error("replayed frame");
      recvSeq = seq;
      const blobs = [];
      const raw = decode(plaintext, blobs);
      let list = [raw];
      if (isPlainObject(raw) && raw.type === "batch") {
        if (Object.keys(raw).length !== 2 || !Array.isArray(raw.messages) || raw.messages.length === 0) throw new Error("malformed batch");
        list = raw.messages;
      }
      const messages = list.map((m) => parseCoreMessage(m, c));
      const answered = /* @__PURE__ */ new Set();
      const live = new Set(streaming);
      for (const m of messages) {
        if (m === null) throw new Error("malformed message from the core");
        if (m.type === "reply") {
          if (!inFlight.has(m.id) || live.has(m.id) || answered.has(m.id)) throw new Error("unexpected reply");
          answered.add(m.id);
          if (m.stream !== void 0) live.add(m.id);
        }
        if (m.type === "data") {
          if (!live.has(m.id)) throw new Error("data for no stream under way");
          if (m.end) live.delete(m.id);
        }
        if (m.type === "channel" && !channels.has(m.id)) throw new Error("a message for a channel the page never passed");
      }
      for (const m of messages) {
        if (m.type === "channel" && m.end) release([m.id]);
        if (m.type === "reply") {
          if (!m.ok && callChannels.has(m.id)) release(callChannels.get(m.id));
          callChannels.delete(m.id);
        }
      }
      for (const m of messages) {
        if (m.type === "reply" && m.stream !== void 0) {
          streaming.add(m.id);
        } else if (m.type === "reply" || m.type === "data" && m.end) {
          inFlight.delete(m.id);
          sealed.delete(m.id);
          streaming.delete(m.id);
        }
      }
      messages.forEach((m, i) => post(m, i === messages.length - 1 ? blobs : void 0));
    }
    const outbox = [];
    const enc2 = new TextEncoder();
    function send(req, body) {
      outbox.push({ id: req.id, body, cancel: req.cancel === true });
      if (outbox.length > 1) return;
      sending = sending.then(flush).catch(() => {
      });
    }
    async function flush() {
      const sock = ws;
      for (const group of frames(outbox.splice(0), c.maxMessageBytes, c.maxBatchMessages)) {
        const live = group.filter((it) => inFlight.has(it.id));
        if (live.length === 0) continue;
        try {
          const plaintext = live.length === 1 ? live[0].body : joinBatch(live.map((it) => it.body));
          for (const it of live) if (!it.cancel) sealed.add(it.id);
          sock.send(await seal(keys.toCore, TO_CORE, sessionID, ++sendSeq, plaintext, subtle));
        } catch {
          for (const it of live) {
            sealed.delete(it.id);
            if (inFlight.delete(it.id)) post(failure(it.id, "unavailable", "could not send to the core"));
          }
        }
      }
    }
    function cancel(id) {
      if (!inFlight.has(id)) return;
      if (!sealed.has(id)) {
        inFlight.delete(id);
        return;
      }
      send({ id, cancel: true }, enc2.encode(JSON.stringify({ type: "cancel", id })));
    }
    function handleOne(data) {
      if (isPlainObject(data) && data.type === "cancel" && Object.keys(data).length === 2 && Number.isSafeInteger(data.id) && data.id > 0) {
        cancel(data.id);
        return;
      }
      const checked = checkRequest(data, c);
      if (!checked.ok) {
        if (checked.id !== void 0 && !inFlight.has(checked.id)) post(failure(checked.id, checked.code, checked.reason));
        return;
      }
      const { req } = checked;
      if (inFlight.has(req.id)) return;
      if (!checkLocally(checked)) return;
      if (!open_) {
        post(failure(req.id, "unavailable", "not connected to the core"));
        return;
      }
      inFlight.add(req.id);
      if (hook === null) {
        dispatch(checked);
        return;
      }
      const message = { kind: req.kind, name: req.name, args: checked.parts.view, window: config.window };
      if (req.tauri) {
        message.tauri = structuredClone(req.tauri);
        message.payload = structuredClone(req.args);
      }
      runHook(message, (verdict) => {
        if (!inFlight.has(req.id)) return;
        if (verdict === true) {
          dispatch(checked);
          return;
        }
        if (verdict !== null && typeof verdict === "object" && isPlainObject(verdict.replace)) {
          const r = verdict.replace;
          const again = checkRequest({ type: "invoke", id: req.id, kind: r.kind, name: r.name, args: r.args, ...r.tauri ? { tauri: r.tauri } : {} }, c);
          if (!again.ok) {
            inFlight.delete(req.id);
            post(failure(req.id, again.code, `the hook's rewrite: ${again.reason}`));
            return;
          }
          if (!checkLocally(again)) {
            inFlight.delete(req.id);
            return;
          }
          dispatch(again);
          return;
        }
        inFlight.delete(req.id);
        post(failure(req.id, "hook_rejected", typeof verdict === "string" && verdict ? verdict : "rejected by the isolation hook"));
      });
    }
    function checkLocally({ req, parts }) {
      if (req.kind === "http") {
        const refused = checkHTTP(operations, req);
        if (refused !== null) {
          post(failure(req.id, refused.code, refused.reason));
          return false;
        }
      }
      if (req.kind === "command" || req.kind === "event") {
        const validator = validators.get(req.name);
        if (validator === void 0) {
          post(failure(req.id, "unknown_command", `unknown ${req.kind} ${req.name}`));
          return false;
        }
        const result = validator.validate(parts.view);
        if (!result.valid) {
          const e = result.errors[result.errors.length - 1];
          post(failure(req.id, "invalid_args", `args${e.instanceLocation.slice(1)}: ${e.error}`));
          return false;
        }
      }
      return true;
    }
    function dispatch({ req, body }) {
      const ids = req.tauri ? req.tauri.channels.map((p) => channelAt(req.args, p)) : [];
      if (ids.length) {
        if (channels.size + ids.length > MAX_CHANNELS) {
          inFlight.delete(req.id);
          post(failure(req.id, "rate_limited", `more than ${MAX_CHANNELS} channels open`));
          return;
        }
        for (const ch of ids) channels.set(ch, (channels.get(ch) || 0) + 1);
        callChannels.set(req.id, ids);
      }
      send(req, body);
    }
    function runHook(req, done) {
      let verdict;
      let thenable = false;
      try {
        verdict = hook(req);
        thenable = verdict !== null && (typeof verdict === "object" || typeof verdict === "function") && typeof verdict.then === "function";
      } catch {
        done(false);
        return;
      }
      if (!thenable) {
        done(verdict);
        return;
      }
      let settled = false;
      let finished;
      hooks.add(new Promise((r) => {
        finished = r;
      }));
      const once = (v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done(v);
        finished();
      };
      const timer = setTimeout(() => once("the isolation hook did not answer in time"), HOOK_TIMEOUT_MS);
      try {
        Promise.resolve(verdict).then(once, () => once(false));
      } catch {
        once(false);
      }
    }
    function handle(data) {
      unbatch(data, handleOne);
    }
    const hooks = /* @__PURE__ */ new Set();
    async function idle() {
      for (; ; ) {
        const s = sending;
        const r = receiving;
        const pending = [...hooks];
        await Promise.allSettled([s, r, ...pending]);
        for (const h of pending) hooks.delete(h);
        if (s === sending && r === receiving && hooks.size === 0) return;
      }
    }
    connect();
    return { handle, idle };
  }

  // src/isolation-main.js
  (async () => {
    const parent = window.parent;
    if (parent === window) return;
    const el = document.getElementById("isogate-config");
    const config = JSON.parse(el.textContent);
    el.remove();
    let port = null;
    const early = [];
    const post = batcher((m, transfer) => port === null ? early.push([m, transfer]) : port.postMessage(m, transfer));
    const queue = [];
    let iso = null;
    window.addEventListener("message", (ev) => {
      const d = ev.data;
      if (port !== null || ev.source !== parent || d === null || typeof d !== "object" || d.type !== "port" || ev.ports.length !== 1) return;
      port = ev.ports[0];
      port.onmessage = (e) => {
        if (iso === null) queue.push(e.data);
        else iso.handle(e.data);
      };
      for (const [m, transfer] of early.splice(0)) port.postMessage(m, transfer);
    });
    const hook = typeof self.isogateHook === "function" ? self.isogateHook : null;
    iso = await createIsolation({ config, post, WebSocket: window.WebSocket, hook });
    for (const m of queue.splice(0)) iso.handle(m);
  })();
})();
