import type { AwsOperationUse } from '@orgshield/aws';

/** Every AWS operation this package calls (see @orgshield/aws iam-policies for how the list is used and checked). */
export const FIREWALL_AWS_OPERATIONS: readonly AwsOperationUse[] = [
  // Policies and their compliance, in the Firewall Manager administrator account.
  { service: 'fms', operation: 'ListPolicies', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  { service: 'fms', operation: 'GetPolicy', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  { service: 'fms', operation: 'PutPolicy', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  { service: 'fms', operation: 'DeletePolicy', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  { service: 'fms', operation: 'ListComplianceStatus', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  { service: 'fms', operation: 'GetComplianceDetail', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  // Preflight: which account is the administrator, and the notification channel a rollout needs.
  { service: 'fms', operation: 'GetAdminAccount', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  { service: 'fms', operation: 'GetNotificationChannel', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  { service: 'fms', operation: 'PutNotificationChannel', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
  { service: 'sts', operation: 'GetCallerIdentity', account: 'delegated-administrator', role: 'firewall-manager-administrator' },
];
