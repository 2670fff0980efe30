import type {
  AssociateFleetRequest,
  BatchAssociateUserStackRequest,
  BatchAssociateUserStackResult,
  BatchDisassociateUserStackRequest,
  BatchDisassociateUserStackResult,
  CreateFleetRequest,
  CreateFleetResult,
  CreateImageBuilderRequest,
  CreateImageBuilderResult,
  CreateStackRequest,
  CreateStackResult,
  CreateUpdatedImageRequest,
  CreateUpdatedImageResult,
  CreateUsageReportSubscriptionResult,
  CreateUserRequest,
  DeleteFleetRequest,
  DeleteImageBuilderRequest,
  DeleteImageBuilderResult,
  DeleteStackRequest,
  DescribeFleetsRequest,
  DescribeFleetsResult,
  DescribeImageBuildersRequest,
  DescribeImageBuildersResult,
  DescribeImagesRequest,
  DescribeImagesResult,
  DescribeSessionsRequest,
  DescribeSessionsResult,
  DescribeStacksRequest,
  DescribeStacksResult,
  DescribeUsageReportSubscriptionsResult,
  DescribeUserStackAssociationsRequest,
  DescribeUserStackAssociationsResult,
  DescribeUsersRequest,
  DescribeUsersResult,
  DisassociateFleetRequest,
  Fleet,
  Image,
  ImageBuilder,
  ListAssociatedFleetsRequest,
  ListAssociatedFleetsResult,
  ListAssociatedStacksRequest,
  ListAssociatedStacksResult,
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  Stack,
  StartFleetRequest,
  StartImageBuilderRequest,
  StartImageBuilderResult,
  StopFleetRequest,
  StopImageBuilderRequest,
  StopImageBuilderResult,
  TagResourceRequest,
  UntagResourceRequest,
  UpdateFleetRequest,
  UpdateFleetResult,
  UpdateStackRequest,
  UpdateStackResult,
  UserStackAssociation,
  UserStackAssociationError,
} from '@aws-sdk/client-appstream';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import {
  APPSTREAM_DELAYS,
  APPSTREAM_QUOTAS,
  appstreamRegions,
  appstreamRole,
  arnOf,
  changeState,
  checkQuota,
  isCurrent,
  settle,
  subscribeUsageReports,
  type AppStreamFleet,
  type AppStreamImage,
  type AppStreamImageBuilder,
  type AppStreamRegion,
  type AppStreamStack,
} from './appstream-store.js';

const INSTANCE_TYPE = /^stream\.(standard|compute|memory|graphics|graphics-design|graphics-pro|graphics\.g4dn|graphics\.g5|memory\.z1d)\.[a-z0-9]+$/;
/** AppStream's page size for Describe* without MaxResults. */
const PAGE = 25;
/** BatchAssociateUserStack takes at most 25 associations (the model also caps the list). */
const MAX_BATCH = 25;

/**
 * AppStream 2.0 (awsJson 1.1): image builders, images, fleets, stacks, user pool users and their
 * stack assignments, sessions and usage report subscriptions, per account and Region. State
 * machines, quotas and the controls a test drives (an image made with Image Assistant, a user
 * streaming) are in appstream-store.ts. Modelled beyond the model: names unique per kind, a
 * resource changing state answers ConcurrentModificationException, a fleet or builder role must
 * exist in the account and trust appstream.amazonaws.com (InvalidRoleException), one fleet per
 * stack, a fleet must be STOPPED and free of stacks to be deleted, BatchAssociateUserStack
 * reports failures in its list. Not modelled: app blocks, applications, entitlements,
 * directory configs, streaming URLs, image sharing and copying, and Elastic fleets' app blocks.
 */
export const appstream = defineService({
  signingName: 'appstream',
  handlers: {
    CreateImageBuilder(input: CreateImageBuilderRequest, ctx): CreateImageBuilderResult {
      const state = ctx.state(appstreamRegions);
      const name = input.Name ?? '';
      if (state.builders.has(name)) throw alreadyExists('image builder', name);
      checkInstanceType(input.InstanceType);
      checkQuota(state.builders.size, APPSTREAM_QUOTAS.imageBuilders);
      const image = imageFor(state, { name: input.ImageName, arn: input.ImageArn });
      if (image.state.state !== 'AVAILABLE') throw new ServiceError('ResourceNotAvailableException', `The image ${image.name} is ${image.state.state}; an image builder needs an AVAILABLE image.`);
      if (input.IamRoleArn !== undefined) appstreamRole(ctx.world, ctx.accountId, input.IamRoleArn);
      if (input.VpcConfig?.SubnetIds && input.VpcConfig.SubnetIds.length !== 1) {
        throw new ServiceError('InvalidParameterCombinationException', 'An image builder uses exactly one subnet.');
      }
      const builder: AppStreamImageBuilder = {
        name,
        arn: arnOf(ctx, 'image-builder', name),
        imageArn: image.arn,
        instanceType: input.InstanceType ?? '',
        platform: image.platform,
        ...optional({ displayName: input.DisplayName, description: input.Description, vpcConfig: input.VpcConfig, iamRoleArn: input.IamRoleArn, enableDefaultInternetAccess: input.EnableDefaultInternetAccess }),
        state: { state: 'PENDING' },
        createdTime: ctx.world.clock.now(),
        tags: { ...input.Tags },
      };
      changeState(ctx.world, builder.state, 'PENDING', 'RUNNING', APPSTREAM_DELAYS.builderStart);
      state.builders.set(name, builder);
      return { ImageBuilder: describeBuilder(builder) };
    },

    DescribeImageBuilders(input: DescribeImageBuildersRequest, ctx): DescribeImageBuildersResult {
      const state = ctx.state(appstreamRegions);
      const chosen = named(state.builders, input.Names, 'image builder');
      const { items, next } = page(ctx, 'DescribeImageBuilders', chosen, input.NextToken, input.MaxResults);
      return { ImageBuilders: items.map(describeBuilder), NextToken: next };
    },

    StartImageBuilder(input: StartImageBuilderRequest, ctx): StartImageBuilderResult {
      const builder = existing(ctx.state(appstreamRegions).builders, input.Name, 'image builder');
      const now = settle(builder.state);
      if (now === 'STOPPED') changeState(ctx.world, builder.state, 'PENDING', 'RUNNING', APPSTREAM_DELAYS.builderStart);
      else if (now !== 'RUNNING') throw changing('image builder', builder.name, now);
      return { ImageBuilder: describeBuilder(builder) };
    },

    StopImageBuilder(input: StopImageBuilderRequest, ctx): StopImageBuilderResult {
      const builder = existing(ctx.state(appstreamRegions).builders, input.Name, 'image builder');
      const now = settle(builder.state);
      if (now === 'RUNNING') changeState(ctx.world, builder.state, 'STOPPING', 'STOPPED', APPSTREAM_DELAYS.builderStop);
      else if (now !== 'STOPPED') throw changing('image builder', builder.name, now);
      return { ImageBuilder: describeBuilder(builder) };
    },

    DeleteImageBuilder(input: DeleteImageBuilderRequest, ctx): DeleteImageBuilderResult {
      const state = ctx.state(appstreamRegions);
      const builder = existing(state.builders, input.Name, 'image builder');
      const now = settle(builder.state);
      if (now !== 'RUNNING' && now !== 'STOPPED') throw changing('image builder', builder.name, now);
      state.builders.delete(builder.name);
      return { ImageBuilder: describeBuilder(builder) };
    },

    DescribeImages(input: DescribeImagesRequest, ctx): DescribeImagesResult {
      const state = ctx.state(appstreamRegions);
      if (input.Names?.length && input.Arns?.length) throw new ServiceError('InvalidParameterCombinationException', 'Names and Arns cannot be used together.');
      let chosen: AppStreamImage[];
      if (input.Arns?.length) {
        chosen = input.Arns.map((arn) => imageFor(state, { arn }));
      } else {
        chosen = named(state.images, input.Names, 'image');
      }
      if (input.Type !== undefined) chosen = chosen.filter((i) => i.visibility === input.Type);
      const { items, next } = page(ctx, 'DescribeImages', chosen, input.NextToken, input.MaxResults);
      return { Images: items.map(describeImage), NextToken: next };
    },

    CreateUpdatedImage(input: CreateUpdatedImageRequest, ctx): CreateUpdatedImageResult {
      const state = ctx.state(appstreamRegions);
      const source = existing(state.images, input.existingImageName, 'image');
      if (source.visibility !== 'PRIVATE') throw new ServiceError('OperationNotPermittedException', `Image ${source.name} is not one of your images; only private images can be updated.`);
      if (settle(source.state) !== 'AVAILABLE') throw changing('image', source.name, source.state.state);
      const name = input.newImageName ?? '';
      if (state.images.has(name)) throw alreadyExists('image', name);
      // A dry run tells whether an update exists; every sandbox image can take the latest agent.
      if (input.dryRun) return { image: describeImage(source), canUpdateImage: true };
      checkQuota([...state.images.values()].filter((i) => i.visibility === 'PRIVATE').length, APPSTREAM_QUOTAS.images);
      const image: AppStreamImage = {
        ...source,
        agentOutdated: false,
        name,
        arn: arnOf(ctx, 'image', name),
        baseImageArn: source.arn,
        ...optional({ displayName: input.newImageDisplayName ?? source.displayName, description: input.newImageDescription ?? source.description }),
        state: { state: 'PENDING' },
        createdTime: ctx.world.clock.now(),
        tags: { ...source.tags, ...input.newImageTags },
      };
      delete image.imageBuilderName;
      changeState(ctx.world, image.state, 'PENDING', 'AVAILABLE', APPSTREAM_DELAYS.imageUpdate);
      state.images.set(name, image);
      return { image: describeImage(image), canUpdateImage: true };
    },

    CreateFleet(input: CreateFleetRequest, ctx): CreateFleetResult {
      const state = ctx.state(appstreamRegions);
      const name = input.Name ?? '';
      if (state.fleets.has(name)) throw alreadyExists('fleet', name);
      checkInstanceType(input.InstanceType);
      checkQuota(state.fleets.size, APPSTREAM_QUOTAS.fleets);
      const fleetType = input.FleetType ?? 'ON_DEMAND';
      const combination = (message: string) => new ServiceError('InvalidParameterCombinationException', message);
      let image: AppStreamImage | undefined;
      if (fleetType === 'ELASTIC') {
        // Elastic fleets run app blocks on AWS's images: a platform, a session cap and a VPC.
        if (input.ImageName !== undefined || input.ImageArn !== undefined) throw combination('Elastic fleets do not take an image; they use app blocks on the platform you name.');
        if (input.ComputeCapacity !== undefined) throw combination('Elastic fleets take MaxConcurrentSessions, not ComputeCapacity.');
        if (input.Platform === undefined || input.MaxConcurrentSessions === undefined) throw combination('Elastic fleets need Platform and MaxConcurrentSessions.');
        if (!input.VpcConfig?.SubnetIds?.length) throw combination('Elastic fleets need VpcConfig with at least one subnet.');
      } else {
        if (input.MaxConcurrentSessions !== undefined || input.SessionScriptS3Location !== undefined) throw combination('MaxConcurrentSessions and SessionScriptS3Location are for Elastic fleets only.');
        const desired = input.ComputeCapacity?.DesiredInstances ?? input.ComputeCapacity?.DesiredSessions;
        if (desired === undefined) throw combination('ComputeCapacity needs DesiredInstances (or DesiredSessions for a multi-session fleet).');
        if (input.ComputeCapacity?.DesiredInstances !== undefined && input.ComputeCapacity.DesiredSessions !== undefined) throw combination('Set DesiredInstances or DesiredSessions, not both.');
        if (desired > APPSTREAM_QUOTAS.instancesPerFleet.limit) checkQuota(desired, APPSTREAM_QUOTAS.instancesPerFleet);
        if (input.ImageName === undefined && input.ImageArn === undefined) throw combination('A fleet needs ImageName or ImageArn.');
        image = imageFor(state, { name: input.ImageName, arn: input.ImageArn });
        if (settle(image.state) !== 'AVAILABLE') throw new ServiceError('ResourceNotAvailableException', `The image ${image.name} is ${image.state.state}; a fleet needs an AVAILABLE image.`);
      }
      if (input.IamRoleArn !== undefined) appstreamRole(ctx.world, ctx.accountId, input.IamRoleArn);
      const fleet: AppStreamFleet = {
        name,
        arn: arnOf(ctx, 'fleet', name),
        fleetType,
        instanceType: input.InstanceType ?? '',
        platform: input.Platform ?? image?.platform ?? 'WINDOWS_SERVER_2019',
        ...optional({
          imageName: image?.name,
          imageArn: image?.arn,
          desiredInstances: input.ComputeCapacity?.DesiredInstances ?? input.ComputeCapacity?.DesiredSessions,
          maxConcurrentSessions: input.MaxConcurrentSessions,
          vpcConfig: input.VpcConfig,
          iamRoleArn: input.IamRoleArn,
          sessionScriptS3Location: input.SessionScriptS3Location,
          displayName: input.DisplayName,
          description: input.Description,
        }),
        maxUserDurationInSeconds: input.MaxUserDurationInSeconds ?? 57_600,
        disconnectTimeoutInSeconds: input.DisconnectTimeoutInSeconds ?? 900,
        idleDisconnectTimeoutInSeconds: input.IdleDisconnectTimeoutInSeconds ?? 0,
        streamView: input.StreamView ?? 'APP',
        enableDefaultInternetAccess: input.EnableDefaultInternetAccess ?? false,
        state: { state: 'STOPPED' },
        createdTime: ctx.world.clock.now(),
        tags: { ...input.Tags },
      };
      state.fleets.set(name, fleet);
      return { Fleet: describeFleet(state, fleet) };
    },

    DescribeFleets(input: DescribeFleetsRequest, ctx): DescribeFleetsResult {
      const state = ctx.state(appstreamRegions);
      const { items, next } = page(ctx, 'DescribeFleets', named(state.fleets, input.Names, 'fleet'), input.NextToken);
      return { Fleets: items.map((f) => describeFleet(state, f)), NextToken: next };
    },

    StartFleet(input: StartFleetRequest, ctx): void {
      const state = ctx.state(appstreamRegions);
      const fleet = existing(state.fleets, input.Name, 'fleet');
      const now = settle(fleet.state);
      if (now === 'RUNNING') return;
      if (now !== 'STOPPED') throw changing('fleet', fleet.name, now);
      // The role is checked again at start: it may have changed since the fleet was made.
      if (fleet.iamRoleArn !== undefined) appstreamRole(ctx.world, ctx.accountId, fleet.iamRoleArn);
      changeState(ctx.world, fleet.state, 'STARTING', 'RUNNING', APPSTREAM_DELAYS.fleetStart);
    },

    StopFleet(input: StopFleetRequest, ctx): void {
      const fleet = existing(ctx.state(appstreamRegions).fleets, input.Name, 'fleet');
      const now = settle(fleet.state);
      if (now === 'STOPPED') return;
      if (now !== 'RUNNING') throw changing('fleet', fleet.name, now);
      changeState(ctx.world, fleet.state, 'STOPPING', 'STOPPED', APPSTREAM_DELAYS.fleetStop);
    },

    DeleteFleet(input: DeleteFleetRequest, ctx): void {
      const state = ctx.state(appstreamRegions);
      const fleet = existing(state.fleets, input.Name, 'fleet');
      const now = settle(fleet.state);
      if (now === 'STARTING' || now === 'STOPPING') throw changing('fleet', fleet.name, now);
      if (now !== 'STOPPED') throw new ServiceError('ResourceInUseException', `Fleet ${fleet.name} is RUNNING; stop it first.`);
      if ([...state.stackFleet.values()].includes(fleet.name)) throw new ServiceError('ResourceInUseException', `Fleet ${fleet.name} is associated with a stack; disassociate it first.`);
      state.fleets.delete(fleet.name);
    },

    CreateStack(input: CreateStackRequest, ctx): CreateStackResult {
      const state = ctx.state(appstreamRegions);
      const name = input.Name ?? '';
      if (state.stacks.has(name)) throw alreadyExists('stack', name);
      checkQuota(state.stacks.size, APPSTREAM_QUOTAS.stacks);
      const stack: AppStreamStack = {
        name,
        arn: arnOf(ctx, 'stack', name),
        userSettings: input.UserSettings ?? [],
        ...optional({
          displayName: input.DisplayName,
          description: input.Description,
          storageConnectors: input.StorageConnectors,
          redirectUrl: input.RedirectURL,
          feedbackUrl: input.FeedbackURL,
          applicationSettings: input.ApplicationSettings === undefined ? undefined : { Enabled: input.ApplicationSettings.Enabled ?? false, SettingsGroup: input.ApplicationSettings.SettingsGroup },
        }),
        createdTime: ctx.world.clock.now(),
        tags: { ...input.Tags },
      };
      state.stacks.set(name, stack);
      return { Stack: describeStack(stack) };
    },

    DescribeStacks(input: DescribeStacksRequest, ctx): DescribeStacksResult {
      const state = ctx.state(appstreamRegions);
      const { items, next } = page(ctx, 'DescribeStacks', named(state.stacks, input.Names, 'stack'), input.NextToken);
      return { Stacks: items.map(describeStack), NextToken: next };
    },

    /**
     * Modelled: a new image for an ALWAYS_ON or ON_DEMAND fleet (running fleets take it as their
     * instances are replaced), capacity and the two timeouts; the other attributes are not.
     */
    UpdateFleet(input: UpdateFleetRequest, ctx): UpdateFleetResult {
      const state = ctx.state(appstreamRegions);
      const fleet = existing(state.fleets, input.Name, 'fleet');
      const now = settle(fleet.state);
      if (now === 'STARTING' || now === 'STOPPING') throw changing('fleet', fleet.name, now);
      if (input.ImageName !== undefined || input.ImageArn !== undefined) {
        if (fleet.fleetType === 'ELASTIC') throw new ServiceError('InvalidParameterCombinationException', 'Elastic fleets do not take an image.');
        const image = input.ImageArn !== undefined ? imageFor(state, { arn: input.ImageArn }) : existing(state.images, input.ImageName, 'image');
        if (settle(image.state) !== 'AVAILABLE') throw new ServiceError('ResourceNotAvailableException', `Image ${image.name} is ${settle(image.state)}, not AVAILABLE.`);
        fleet.imageName = image.name;
        fleet.imageArn = image.arn;
      }
      if (input.ComputeCapacity?.DesiredInstances !== undefined) fleet.desiredInstances = input.ComputeCapacity.DesiredInstances;
      if (input.MaxUserDurationInSeconds !== undefined) fleet.maxUserDurationInSeconds = input.MaxUserDurationInSeconds;
      if (input.DisconnectTimeoutInSeconds !== undefined) fleet.disconnectTimeoutInSeconds = input.DisconnectTimeoutInSeconds;
      return { Fleet: describeFleet(state, fleet) };
    },

    UpdateStack(input: UpdateStackRequest, ctx): UpdateStackResult {
      const stack = existing(ctx.state(appstreamRegions).stacks, input.Name, 'stack');
      if (input.UserSettings !== undefined) {
        // Settings given replace those of the same action; others stay.
        const given = new Map(input.UserSettings.map((u) => [u.Action, u]));
        stack.userSettings = [...stack.userSettings.filter((u) => !given.has(u.Action)), ...given.values()];
      }
      if (input.DisplayName !== undefined) stack.displayName = input.DisplayName;
      if (input.Description !== undefined) stack.description = input.Description;
      if (input.RedirectURL !== undefined) stack.redirectUrl = input.RedirectURL;
      if (input.FeedbackURL !== undefined) stack.feedbackUrl = input.FeedbackURL;
      if (input.StorageConnectors !== undefined) stack.storageConnectors = input.StorageConnectors;
      if (input.DeleteStorageConnectors) delete stack.storageConnectors;
      if (input.ApplicationSettings !== undefined) stack.applicationSettings = { Enabled: input.ApplicationSettings.Enabled ?? false, SettingsGroup: input.ApplicationSettings.SettingsGroup };
      for (const attribute of input.AttributesToDelete ?? []) {
        if (attribute === 'REDIRECT_URL') delete stack.redirectUrl;
        if (attribute === 'FEEDBACK_URL') delete stack.feedbackUrl;
        if (attribute === 'USER_SETTINGS') stack.userSettings = [];
      }
      return { Stack: describeStack(stack) };
    },

    DeleteStack(input: DeleteStackRequest, ctx): void {
      const state = ctx.state(appstreamRegions);
      const stack = existing(state.stacks, input.Name, 'stack');
      if (state.stackFleet.has(stack.name)) throw new ServiceError('ResourceInUseException', `Stack ${stack.name} has a fleet; disassociate it first.`);
      state.stacks.delete(stack.name);
      for (const entry of [...state.userStacks]) if (entry.startsWith(`${stack.name}\n`)) state.userStacks.delete(entry);
    },

    AssociateFleet(input: AssociateFleetRequest, ctx): void {
      const state = ctx.state(appstreamRegions);
      const fleet = existing(state.fleets, input.FleetName, 'fleet');
      const stack = existing(state.stacks, input.StackName, 'stack');
      const now = settle(fleet.state);
      if (now === 'STARTING' || now === 'STOPPING') throw changing('fleet', fleet.name, now);
      const current = state.stackFleet.get(stack.name);
      if (current === fleet.name) return;
      if (current !== undefined) throw new ServiceError('LimitExceededException', `Stack ${stack.name} already has the fleet ${current}; a stack has one fleet.`);
      state.stackFleet.set(stack.name, fleet.name);
    },

    DisassociateFleet(input: DisassociateFleetRequest, ctx): void {
      const state = ctx.state(appstreamRegions);
      const fleet = existing(state.fleets, input.FleetName, 'fleet');
      const stack = existing(state.stacks, input.StackName, 'stack');
      if (state.stackFleet.get(stack.name) !== fleet.name) throw new ServiceError('ResourceNotFoundException', `Fleet ${fleet.name} is not associated with stack ${stack.name}.`);
      if (state.sessions.some((s) => s.stackName === stack.name && s.fleetName === fleet.name && isCurrent(s))) {
        throw new ServiceError('ResourceInUseException', `Stack ${stack.name} has streaming sessions on fleet ${fleet.name}.`);
      }
      state.stackFleet.delete(stack.name);
    },

    ListAssociatedFleets(input: ListAssociatedFleetsRequest, ctx): ListAssociatedFleetsResult {
      const fleet = ctx.state(appstreamRegions).stackFleet.get(input.StackName ?? '');
      return { Names: fleet === undefined ? [] : [fleet] };
    },

    ListAssociatedStacks(input: ListAssociatedStacksRequest, ctx): ListAssociatedStacksResult {
      const state = ctx.state(appstreamRegions);
      return { Names: [...state.stackFleet].filter(([, fleet]) => fleet === input.FleetName).map(([stack]) => stack).sort() };
    },

    CreateUser(input: CreateUserRequest, ctx): void {
      const state = ctx.state(appstreamRegions);
      if (input.AuthenticationType !== 'USERPOOL') throw new ServiceError('InvalidParameterCombinationException', 'Only USERPOOL users can be created.');
      const userName = input.UserName ?? '';
      if (state.users.has(userName)) throw alreadyExists('user', userName);
      checkQuota(state.users.size, APPSTREAM_QUOTAS.users);
      state.users.set(userName, {
        userName,
        arn: arnOf(ctx, 'user', `USERPOOL/${userName}`),
        ...optional({ firstName: input.FirstName, lastName: input.LastName }),
        enabled: true,
        // A welcome email carries a temporary password; with SUPPRESS none is sent.
        status: input.MessageAction === 'SUPPRESS' ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD',
        createdTime: ctx.world.clock.now(),
      });
    },

    DescribeUsers(input: DescribeUsersRequest, ctx): DescribeUsersResult {
      if (input.AuthenticationType !== 'USERPOOL') throw new ServiceError('InvalidParameterCombinationException', 'Only USERPOOL users can be described.');
      const users = [...ctx.state(appstreamRegions).users.values()].sort((a, b) => (a.userName < b.userName ? -1 : 1));
      const { items, next } = page(ctx, 'DescribeUsers', users, input.NextToken, input.MaxResults);
      return {
        Users: items.map((u) => ({ Arn: u.arn, UserName: u.userName, Enabled: u.enabled, Status: u.status, FirstName: u.firstName, LastName: u.lastName, CreatedTime: u.createdTime, AuthenticationType: 'USERPOOL' })),
        NextToken: next,
      };
    },

    BatchAssociateUserStack(input: BatchAssociateUserStackRequest, ctx): BatchAssociateUserStackResult {
      return { errors: batchUserStacks(ctx, input.UserStackAssociations ?? [], 'associate') };
    },

    BatchDisassociateUserStack(input: BatchDisassociateUserStackRequest, ctx): BatchDisassociateUserStackResult {
      return { errors: batchUserStacks(ctx, input.UserStackAssociations ?? [], 'disassociate') };
    },

    DescribeUserStackAssociations(input: DescribeUserStackAssociationsRequest, ctx): DescribeUserStackAssociationsResult {
      if (input.StackName === undefined && input.UserName === undefined) {
        throw new ServiceError('InvalidParameterCombinationException', 'Either StackName or UserName must be specified.');
      }
      if (input.UserName !== undefined && input.AuthenticationType === undefined) {
        throw new ServiceError('InvalidParameterCombinationException', 'AuthenticationType is required with UserName.');
      }
      const all = [...ctx.state(appstreamRegions).userStacks]
        .map((entry) => entry.split('\n') as [string, string])
        .filter(([stack, user]) => (input.StackName === undefined || stack === input.StackName) && (input.UserName === undefined || user === input.UserName))
        .sort(([a, b], [c, d]) => (a === c ? (b < d ? -1 : 1) : a < c ? -1 : 1));
      const { items, next } = page(ctx, 'DescribeUserStackAssociations', all, input.NextToken, input.MaxResults);
      return { UserStackAssociations: items.map(([StackName, UserName]) => ({ StackName, UserName, AuthenticationType: 'USERPOOL' })), NextToken: next };
    },

    DescribeSessions(input: DescribeSessionsRequest, ctx): DescribeSessionsResult {
      const state = ctx.state(appstreamRegions);
      if (input.Limit !== undefined && (input.Limit < 1 || input.Limit > 50)) throw new ServiceError('InvalidParameterCombinationException', 'Limit must be between 1 and 50.');
      if (input.UserId !== undefined && input.AuthenticationType === undefined) {
        throw new ServiceError('InvalidParameterCombinationException', 'AuthenticationType is required with UserId.');
      }
      // AppStream answers an empty list, not an error, for a stack or fleet it does not know.
      const nowMs = Date.now();
      const current = state.sessions
        .filter((s) => s.stackName === input.StackName && s.fleetName === input.FleetName && isCurrent(s, nowMs))
        .filter((s) => (input.UserId === undefined || s.userId === input.UserId) && (input.AuthenticationType === undefined || s.authenticationType === input.AuthenticationType))
        .filter((s) => input.InstanceId === undefined || s.instanceId === input.InstanceId);
      const { items, next } = page(ctx, `DescribeSessions:${input.StackName}:${input.FleetName}`, current, input.NextToken, input.Limit ?? 50);
      return {
        Sessions: items.map((s) => ({
          Id: s.id,
          UserId: s.userId,
          StackName: s.stackName,
          FleetName: s.fleetName,
          State: 'ACTIVE',
          ConnectionState: 'CONNECTED',
          StartTime: s.startTime,
          MaxExpirationTime: s.maxExpirationTime,
          AuthenticationType: s.authenticationType,
          InstanceId: s.instanceId,
        })),
        NextToken: next,
      };
    },

    CreateUsageReportSubscription(_input: object, ctx): CreateUsageReportSubscriptionResult {
      const subscription = subscribeUsageReports(ctx.world, ctx);
      return { S3BucketName: subscription.bucket, Schedule: 'DAILY' };
    },

    DescribeUsageReportSubscriptions(_input: object, ctx): DescribeUsageReportSubscriptionsResult {
      const subscription = ctx.state(appstreamRegions).usageReports;
      return {
        UsageReportSubscriptions: subscription
          ? [{ S3BucketName: subscription.bucket, Schedule: 'DAILY', LastGeneratedReportDate: subscription.lastGeneratedReportDate, SubscriptionErrors: [] }]
          : [],
      };
    },

    DeleteUsageReportSubscription(_input: object, ctx): void {
      const state = ctx.state(appstreamRegions);
      if (!state.usageReports) throw new ServiceError('ResourceNotFoundException', 'No usage report subscription exists.');
      state.usageReports = undefined;
    },

    TagResource(input: TagResourceRequest, ctx): void {
      const tags = taggable(ctx, input.ResourceArn);
      if (Object.keys({ ...tags, ...input.Tags }).length > 50) throw new ServiceError('LimitExceededException', 'A resource can have at most 50 tags.');
      Object.assign(tags, input.Tags);
    },

    UntagResource(input: UntagResourceRequest, ctx): void {
      const tags = taggable(ctx, input.ResourceArn);
      for (const key of input.TagKeys ?? []) delete tags[key];
    },

    ListTagsForResource(input: ListTagsForResourceRequest, ctx): ListTagsForResourceResponse {
      return { Tags: { ...taggable(ctx, input.ResourceArn) } };
    },
  },
});

function batchUserStacks(ctx: RequestContext, associations: readonly UserStackAssociation[], action: 'associate' | 'disassociate'): UserStackAssociationError[] {
  if (associations.length > MAX_BATCH) throw new ServiceError('InvalidParameterCombinationException', `At most ${MAX_BATCH} associations per call.`);
  const state = ctx.state(appstreamRegions);
  const errors: UserStackAssociationError[] = [];
  for (const association of associations) {
    const fail = (ErrorCode: UserStackAssociationError['ErrorCode'], ErrorMessage: string) => errors.push({ UserStackAssociation: association, ErrorCode, ErrorMessage });
    if (association.AuthenticationType !== 'USERPOOL') throw new ServiceError('InvalidParameterCombinationException', 'Only USERPOOL users can be assigned to stacks.');
    if (!state.stacks.has(association.StackName ?? '')) fail('STACK_NOT_FOUND', `The stack ${association.StackName} was not found.`);
    else if (!state.users.has(association.UserName ?? '')) fail('USER_NAME_NOT_FOUND', 'The user was not found in the user pool.');
    else if (action === 'associate') state.userStacks.add(`${association.StackName}\n${association.UserName}`);
    else state.userStacks.delete(`${association.StackName}\n${association.UserName}`);
  }
  return errors;
}

function taggable(ctx: RequestContext, arn: string | undefined): Record<string, string> {
  const state = ctx.state(appstreamRegions);
  const match = /^arn:aws:appstream:([^:]+):(\d{12}):(fleet|stack|image-builder|image)\/(.+)$/.exec(arn ?? '');
  const notFound = () => new ServiceError('ResourceNotFoundException', `The resource ${arn} was not found.`);
  if (!match || match[1] !== ctx.region || match[2] !== ctx.accountId) throw notFound();
  const name = match[4] ?? '';
  const collections = { fleet: state.fleets, stack: state.stacks, 'image-builder': state.builders, image: state.images } as const;
  const found = (collections[match[3] as keyof typeof collections] as Map<string, { tags: Record<string, string> }>).get(name);
  if (!found) throw notFound();
  return found.tags;
}

function checkInstanceType(instanceType: string | undefined): void {
  if (!INSTANCE_TYPE.test(instanceType ?? '')) {
    throw new ServiceError('InvalidParameterCombinationException', `The instance type ${instanceType} is not an AppStream 2.0 instance type (stream.<family>.<size>).`);
  }
}

function imageFor(state: AppStreamRegion, ref: { name?: string | undefined; arn?: string | undefined }): AppStreamImage {
  const image = ref.arn !== undefined ? [...state.images.values()].find((i) => i.arn === ref.arn) : state.images.get(ref.name ?? '');
  if (!image) throw new ServiceError('ResourceNotFoundException', `The image ${ref.arn ?? ref.name ?? '(none given)'} was not found.`);
  settle(image.state);
  return image;
}

function existing<T>(map: Map<string, T>, name: string | undefined, kind: string): T {
  const found = map.get(name ?? '');
  if (!found) throw new ServiceError('ResourceNotFoundException', `The ${kind} ${name} was not found.`);
  return found;
}

/** Describe* with Names: every name must exist (ResourceNotFoundException), else all, by name. */
function named<T extends { name: string }>(map: Map<string, T>, names: readonly string[] | undefined, kind: string): T[] {
  if (names?.length) return names.map((n) => existing(map, n, kind));
  return [...map.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

function page<T>(ctx: RequestContext, listing: string, items: readonly T[], token: string | undefined, size = PAGE): { items: T[]; next: string | undefined } {
  const key = `appstream:${listing}:${ctx.accountId}:${ctx.region}`;
  let start = 0;
  if (token !== undefined) {
    const decoded = ctx.world.pageTokens.decode(key, token);
    if (decoded === undefined) throw new ServiceError('InvalidParameterCombinationException', 'The NextToken is not valid.');
    start = Number(decoded);
  }
  const end = start + size;
  return { items: items.slice(start, end), next: end < items.length ? ctx.world.pageTokens.encode(key, String(end)) : undefined };
}

function alreadyExists(kind: string, name: string): ServiceError {
  return new ServiceError('ResourceAlreadyExistsException', `The ${kind} ${name} already exists.`);
}

function changing(kind: string, name: string, state: string): ServiceError {
  return new ServiceError('ConcurrentModificationException', `The ${kind} ${name} is ${state}; wait until it has finished changing state.`);
}

/** Drops undefined members, so optional fields stay absent (exactOptionalPropertyTypes). */
function optional<T extends Record<string, unknown>>(fields: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function describeBuilder(builder: AppStreamImageBuilder): ImageBuilder {
  return {
    Name: builder.name,
    Arn: builder.arn,
    ImageArn: builder.imageArn,
    DisplayName: builder.displayName,
    Description: builder.description,
    VpcConfig: builder.vpcConfig,
    InstanceType: builder.instanceType,
    Platform: builder.platform,
    IamRoleArn: builder.iamRoleArn,
    State: settle(builder.state),
    CreatedTime: builder.createdTime,
    EnableDefaultInternetAccess: builder.enableDefaultInternetAccess,
  };
}

function describeImage(image: AppStreamImage): Image {
  return {
    Name: image.name,
    Arn: image.arn,
    BaseImageArn: image.baseImageArn,
    DisplayName: image.displayName,
    Description: image.description,
    State: settle(image.state),
    Visibility: image.visibility,
    ...(image.visibility === 'PRIVATE' ? { LatestAppstreamAgentVersion: image.agentOutdated ? ('FALSE' as const) : ('TRUE' as const) } : {}),
    ImageBuilderSupported: true,
    ImageBuilderName: image.imageBuilderName,
    Platform: image.platform,
    CreatedTime: image.createdTime,
  };
}

function describeFleet(state: AppStreamRegion, fleet: AppStreamFleet): Fleet {
  const now = settle(fleet.state);
  const running = now === 'RUNNING' ? (fleet.desiredInstances ?? fleet.maxConcurrentSessions ?? 0) : 0;
  const inUse = state.sessions.filter((s) => s.fleetName === fleet.name && isCurrent(s)).length;
  return {
    Arn: fleet.arn,
    Name: fleet.name,
    DisplayName: fleet.displayName,
    Description: fleet.description,
    ImageName: fleet.imageName,
    ImageArn: fleet.imageArn,
    InstanceType: fleet.instanceType,
    FleetType: fleet.fleetType,
    ComputeCapacityStatus: { Desired: fleet.desiredInstances ?? fleet.maxConcurrentSessions ?? 0, Running: running, InUse: Math.min(inUse, running), Available: Math.max(0, running - inUse) },
    MaxUserDurationInSeconds: fleet.maxUserDurationInSeconds,
    DisconnectTimeoutInSeconds: fleet.disconnectTimeoutInSeconds,
    IdleDisconnectTimeoutInSeconds: fleet.idleDisconnectTimeoutInSeconds,
    State: now,
    VpcConfig: fleet.vpcConfig,
    CreatedTime: fleet.createdTime,
    EnableDefaultInternetAccess: fleet.enableDefaultInternetAccess,
    IamRoleArn: fleet.iamRoleArn,
    StreamView: fleet.streamView,
    Platform: fleet.platform,
    MaxConcurrentSessions: fleet.maxConcurrentSessions,
    SessionScriptS3Location: fleet.sessionScriptS3Location,
  };
}

function describeStack(stack: AppStreamStack): Stack {
  return {
    Arn: stack.arn,
    Name: stack.name,
    DisplayName: stack.displayName,
    Description: stack.description,
    CreatedTime: stack.createdTime,
    StorageConnectors: stack.storageConnectors,
    RedirectURL: stack.redirectUrl,
    FeedbackURL: stack.feedbackUrl,
    UserSettings: stack.userSettings.length > 0 ? stack.userSettings : undefined,
    ApplicationSettings: stack.applicationSettings,
  };
}
